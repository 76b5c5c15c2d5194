// `npm run bench`: measures the lab's machinery and writes results/bench/latest.json.
// Each case is one entry in CASES: the agent line on wine, wine-vm's cold boot against its warm start,
// and the cost of a clean guest per scenario on wine-vm and wine.
import '../src/util/dispose.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { AgentClient } from '../src/agent/agent-client.ts';
import { connectDocker } from '../src/docker/docker-client.ts';
import { errorMessage } from '../src/errors.ts';
import { buildGuestApps } from '../src/guest-apps/build.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { consoleProgress, type ProgressSink } from '../src/report/progress.ts';
import { WINE_GUEST_RUN_DIR, startWineLine } from '../src/targets/wine-line.ts';
import { loadVmSpec } from '../src/config/load-vm-spec.ts';
import { coldBootQemuTarget, startQemuTarget } from '../src/targets/qemu-target.ts';
import { prepareTarget, type StartedTarget } from '../src/targets/prepare-target.ts';
import { scaleOutCase } from './scale-out.ts';

export interface BenchRow {
  case: string;
  target: string;
  metric: string;
  /** The median of `samples`. */
  value: number;
  unit: string;
  samples: number[];
}

interface BenchCase {
  name: string;
  run(context: { signal: AbortSignal; onProgress: ProgressSink }): Promise<BenchRow[]>;
}

const RESULTS = join(PROJECT_ROOT, 'results', 'bench', 'latest.json');
const PING_ROUNDS = 50;
const TRANSFER_RUNS = 5;
const TRANSFER_BYTES = 256 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function row(name: string, target: string, metric: string, unit: string, samples: number[]): BenchRow {
  const round = (v: number) => Math.round(v * 100) / 100;
  return { case: name, target, metric, value: round(median(samples)), unit, samples: samples.map(round) };
}

const agentLineOnWine: BenchCase = {
  name: 'agent-line',
  async run({ signal, onProgress }) {
    const [agent] = await buildGuestApps({ only: ['agent'], signal, onProgress });
    if (!agent) throw new Error('buildGuestApps built no agent');
    await using docker = await connectDocker({ signal });
    onProgress({ kind: 'step', scope: 'bench', message: 'starting the agent under Wine' });
    await using line = await startWineLine(docker, { binDir: dirname(agent.path), signal });
    await using client = await AgentClient.connect(line.stream, { signal, handshakeTimeoutMs: 90_000 });

    const pings: number[] = [];
    for (let i = 0; i < PING_ROUNDS; i++) pings.push((await client.ping(Buffer.alloc(0), { signal })).roundTripMs);

    const data = Buffer.from(Array.from({ length: TRANSFER_BYTES }, (_, i) => (i * 2654435761) >>> 24));
    const path = `${WINE_GUEST_RUN_DIR}\\bench.bin`;
    const put: number[] = [];
    const get: number[] = [];
    for (let i = 0; i < TRANSFER_RUNS; i++) {
      let started = performance.now();
      await client.putFile(path, data, { signal });
      put.push(data.length / 1024 / ((performance.now() - started) / 1000));
      started = performance.now();
      const back = await client.getFile(path, { signal });
      get.push(back.length / 1024 / ((performance.now() - started) / 1000));
      if (!back.equals(data)) throw new Error('bench: the file came back different');
    }
    return [
      row('agent-line', 'wine', 'ping round trip (empty payload)', 'ms', pings),
      row('agent-line', 'wine', `put throughput (${TRANSFER_BYTES / 1024} KiB)`, 'KiB/s', put),
      row('agent-line', 'wine', `get throughput (${TRANSFER_BYTES / 1024} KiB)`, 'KiB/s', get),
    ];
  },
};

const BOOT_RUNS = 3;

const wineVmBoot: BenchCase = {
  name: 'wine-vm-boot',
  async run({ signal, onProgress }) {
    await using docker = await connectDocker({ signal });
    const spec = await loadVmSpec('wine-vm', { signal });
    if (spec.kind !== 'qemu') throw new Error('vms/wine-vm/spec.json is not a QEMU spec');
    const cold: number[] = [];
    const warm: number[] = [];
    const warmWhole: number[] = [];
    for (let i = 0; i < BOOT_RUNS; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `wine-vm cold boot ${i + 1}/${BOOT_RUNS}` });
      cold.push((await coldBootQemuTarget(spec, { docker, signal })).coldBootMs / 1000);
    }
    for (let i = 0; i < BOOT_RUNS; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `wine-vm warm start ${i + 1}/${BOOT_RUNS}` });
      const started = performance.now();
      await using handle = await startQemuTarget(spec, { docker, signal, onWarmStart: (ms) => warm.push(ms / 1000) });
      warmWhole.push((performance.now() - started) / 1000);
      await handle.agent.ping(Buffer.alloc(0), { signal });
    }
    const ratio = cold.map((c, i) => (100 * warm[i]!) / c);
    return [
      row('wine-vm-boot', 'wine-vm', 'cold boot to agent ready', 's', cold),
      row('wine-vm-boot', 'wine-vm', 'warm start (saved state) to agent ready', 's', warm),
      row('wine-vm-boot', 'wine-vm', 'warm start as share of cold boot (goal <= 10)', '%', ratio),
      // What a caller waits for: input hashing, the accelerator choice and the guest work folder besides the start itself.
      row('wine-vm-boot', 'wine-vm', 'startQemuTarget() call, warm, end to end', 's', warmWhole),
    ];
  },
};

const GUEST_RUNS = 5;

/**
 * What a clean guest per scenario adds to each scenario: stopping the
 * previous guest (its overlay or container deleted) and starting the next one
 * up to a connected agent that passed the first-boot check, measured over the
 * scenario unit's own calls (prepareTarget once, then startGuest/dispose).
 */
function cleanGuestCost(target: 'wine' | 'wine-vm'): BenchCase {
  return {
    name: 'clean-guest',
    async run({ signal, onProgress }) {
      await using docker = await connectDocker({ signal });
      const prepared = await prepareTarget(target, { docker, signal, onProgress });
      const start: number[] = [];
      const stop: number[] = [];
      const perScenario: number[] = [];
      let previous: StartedTarget | undefined;
      try {
        for (let i = 0; i <= GUEST_RUNS; i++) {
          onProgress({ kind: 'step', scope: 'bench', message: `${target} fresh guest ${i + 1}/${GUEST_RUNS + 1}` });
          const stopped = performance.now();
          if (previous) await previous[Symbol.asyncDispose]();
          previous = undefined;
          const started = performance.now();
          previous = await prepared.startGuest({ signal });
          const ready = performance.now();
          // The first start has no previous guest to stop: it is not a scenario's isolation cost.
          if (i > 0) {
            stop.push((started - stopped) / 1000);
            start.push((ready - started) / 1000);
            perScenario.push((ready - stopped) / 1000);
          }
        }
      } finally {
        await previous?.[Symbol.asyncDispose]();
      }
      return [
        row('clean-guest', target, 'fresh guest per scenario: stop the last + start the next (goal <= 1.5)', 's', perScenario),
        row('clean-guest', target, 'start a guest to agent ready and first-boot check', 's', start),
        row('clean-guest', target, 'stop a guest and delete its overlay/container', 's', stop),
      ];
    },
  };
}

const CASES: BenchCase[] = [agentLineOnWine, wineVmBoot, cleanGuestCost('wine-vm'), cleanGuestCost('wine'), scaleOutCase];

function table(rows: BenchRow[]): string {
  const header = ['case', 'target', 'metric', 'median', 'unit', 'runs'];
  const cells = rows.map((r) => [r.case, r.target, r.metric, String(r.value), r.unit, String(r.samples.length)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 3 || i === 5 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

async function main(): Promise<number> {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const onProgress = consoleProgress();
  const startedAt = new Date().toISOString();
  const rows: BenchRow[] = [];
  const failures: { case: string; error: string }[] = [];
  // `npm run bench -- clean-guest`: only the cases named.
  const only = process.argv.slice(2);
  for (const c of CASES.filter((c) => only.length === 0 || only.includes(c.name))) {
    try {
      rows.push(...(await c.run({ signal: controller.signal, onProgress })));
    } catch (error) {
      failures.push({ case: c.name, error: errorMessage(error) });
      process.stderr.write(`bench case ${c.name} failed: ${errorMessage(error)}\n`);
    }
  }
  process.stdout.write(`${table(rows)}\n`);
  await mkdir(dirname(RESULTS), { recursive: true });
  const host = { hostname: hostname(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version };
  await writeFile(RESULTS, `${JSON.stringify({ startedAt, host, rows, failures }, null, 2)}\n`);
  process.stdout.write(`written to ${RESULTS}\n`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
