// The agent line on `wine`, where COM1 is a pty bridged by socat: ping round trip and put/get throughput.
import { AgentClient } from '../src/agent/agent-client.ts';
import { buildGuestApps } from '../src/guest-apps/build.ts';
import { WINE_GUEST_RUN_DIR, startWineLine } from '../src/targets/wine-line.ts';
import { dirname } from 'node:path';
import { row, Samples, type BenchGroup } from './bench-row.ts';
import { transferRows } from './transfer.ts';

const PING_ROUNDS = 50;

export const agentLineWine: BenchGroup = {
  name: 'agent-wine',
  describe: 'agent ping and put/get throughput on wine (a pty bridged by socat)',
  async run({ docker, signal, onProgress, runs }) {
    const [agent] = await buildGuestApps({ only: ['agent'], signal, onProgress });
    if (!agent) throw new Error('buildGuestApps built no agent');
    onProgress({ kind: 'step', scope: 'bench', message: 'starting the agent under Wine' });
    await using line = await startWineLine(docker, { binDir: dirname(agent.path), signal });
    await using client = await AgentClient.connect(line.stream, { signal, handshakeTimeoutMs: 90_000 });
    const pings = new Samples();
    for (let i = 0; i < PING_ROUNDS; i++) pings.add((await client.ping(Buffer.alloc(0), { signal })).roundTripMs);
    return [
      row('agent-wine', 'wine', 'agent ping round trip (empty payload)', 'ms', pings),
      ...(await transferRows('agent-wine', 'wine', client, `${WINE_GUEST_RUN_DIR}\\bench.bin`, { signal, runs })),
    ];
  },
};
