import { copyFile, chmod, mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from '../src/docker/docker-client.ts';
import { RUNNER_IMAGES } from '../src/docker/runner-images.ts';
import type { StartedContainer } from '../src/docker/started-container.ts';
import { RetrolabError } from '../src/errors.ts';
import { ResourceStack } from '../src/util/dispose.ts';

/**
 * The agent under Wine in a wine-runner container, its COM1 a pty that socat
 * bridges to a unix socket in a bind-mounted run directory. A stand-in used
 * by the agent's integration test and the bench until the `wine` target
 * handle in src/targets/ provides the same thing.
 */
export interface WineAgentLine extends AsyncDisposable {
  /** Host path of the run directory; the agent sees it as GUEST_RUN_DIR. */
  readonly runDir: string;
  /** The connected serial line; hand it to AgentClient.connect (which then owns it). */
  readonly stream: Socket;
  readonly container: StartedContainer;
}

export const GUEST_RUN_DIR = 'Z:\\run\\retrolab';
const CONTAINER_RUN_DIR = '/run/retrolab';

// socat keeps the pty's master open for as long as Wine runs: if it closed,
// wineserver would get SIGHUP (environment.md). It serves one connection.
const SCRIPT = `set -eu
R=${CONTAINER_RUN_DIR}
socat PTY,link=$R/ttyS0,raw,echo=0 UNIX-LISTEN:$R/serial.sock,unlink-early 2>$R/socat.log &
i=0; while [ ! -e $R/ttyS0 ]; do i=$((i+1)); [ $i -lt 200 ] || { echo "socat made no pty" >&2; exit 1; }; sleep 0.05; done
[ -d "$WINEPREFIX/dosdevices" ] || wineboot -i >/dev/null 2>&1
ln -sf $R/ttyS0 "$WINEPREFIX/dosdevices/com1"
exec wine $R/agent.exe --port COM1 "$@"
`;

export async function startWineAgentLine(
  docker: DockerClient,
  options: { agentExe: string; verbose?: boolean; image?: string; signal?: AbortSignal },
): Promise<WineAgentLine> {
  await using stack = new ResourceStack();
  const runDir = await mkdtemp(join(tmpdir(), 'retrolab-agent-'));
  stack.defer(() => rm(runDir, { recursive: true, force: true }));
  // The container's user (wine, uid 1000) creates the socket and the files the agent writes.
  await chmod(runDir, 0o777);
  await copyFile(options.agentExe, join(runDir, 'agent.exe'));
  const container = stack.use(
    await docker.start(
      {
        image: options.image ?? RUNNER_IMAGES.wine,
        cmd: ['sh', '-c', SCRIPT, 'wine-agent', ...(options.verbose ? ['--verbose'] : [])],
        user: 'wine',
        hardening: 'standard',
        network: 'none',
        init: true,
        binds: [{ hostPath: runDir, containerPath: CONTAINER_RUN_DIR }],
      },
      { signal: options.signal },
    ),
  );
  const socketPath = join(runDir, 'serial.sock');
  let stream: Socket | undefined;
  // The socket file appears at bind(), a moment before socat listens: retry the refusals.
  for (let waited = 0; !stream; waited += 50) {
    options.signal?.throwIfAborted();
    stream = await new Promise<Socket | undefined>((resolve) => {
      const socket = connect(socketPath);
      socket.once('connect', () => resolve(socket));
      socket.once('error', () => resolve(undefined));
    });
    if (stream) break;
    if (waited > 30_000 || !(await container.isRunning())) {
      const { stdout, stderr } = container.output();
      throw new RetrolabError(`the wine-runner container did not listen on ${socketPath} (socat + pty for the agent's COM1)`, {
        context: { runDir, stdout, stderr },
      });
    }
    await sleep(50);
  }
  stack.defer(() => void stream.destroy());
  const cleanup = stack.move();
  return {
    runDir,
    stream,
    container,
    [Symbol.asyncDispose]: () => cleanup[Symbol.asyncDispose](),
  };
}
