import { posix, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { DockerClient } from '../docker/docker-client.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import type { StartedContainer } from '../docker/started-container.ts';
import { ResourceStack } from '../util/dispose.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { TargetStartError } from './errors.ts';
import { waitForSocketListening } from '../wait/socket-listening.ts';
import type { WaitProgress } from '../wait/wait-for.ts';

/** The wine user of the wine-runner image. */
const WINE_UID = 1000;
const RUN_DIR = '/run/retrolab';

/** Where the run directory appears to programs under Wine. */
export const WINE_GUEST_RUN_DIR = 'Z:\\run\\retrolab';
export const WINE_PEER_PORT = 7000;
/** The agent's working folder in the prefix (vms/wine/start-agent.sh makes it). */
export const WINE_GUEST_WORK_DIR = 'C:\\retrolab';

/**
 * The agent running under Wine in a wine-runner container, and the host end
 * of its COM1: a pty that socat bridges to `serial.sock` in a bind-mounted
 * run directory (vms/wine/start-agent.sh). socat serves one connection, so the
 * stream is handed out once; whoever speaks the protocol owns it.
 */
export interface WineLine extends AsyncDisposable {
  /** The run directory on the engine's machine; Wine sees it as WINE_GUEST_RUN_DIR. */
  readonly runDir: string;
  readonly stream: Duplex;
  readonly container: StartedContainer;
}

export async function startWineLine(
  docker: DockerClient,
  /** `binDir`: the folder of the built guest programs (mounted as /opt/retrolab/bin; the agent starts from there). */
  options: {
    binDir: string;
    /** The image to start; the wine-runner image by default (a patched one under --patch-when saved-state). */
    image?: string;
    signal?: AbortSignal;
    lineTimeoutMs?: number;
    verbose?: boolean;
    onWait?: WaitProgress;
  },
): Promise<WineLine> {
  await using stack = new ResourceStack();
  const files = docker.files;
  const call = { signal: options.signal };
  const runDir = stack.use(await files.makeRunDir('wine-', `${WINE_UID}:${WINE_UID}`, call)).path;
  // On a host that does not see this machine's paths, these are copies in its cache (by content hash).
  const vmDir = await files.provideDir(join(PROJECT_ROOT, 'vms', 'wine'), call);
  const binDir = await files.provideDir(options.binDir, call);
  const container = stack.use(
    await docker.start(
      {
        image: options.image ?? RUNNER_IMAGES.wine,
        cmd: ['sh', '/opt/retrolab/vm/start-agent.sh', ...(options.verbose ? ['--verbose'] : [])],
        user: `${WINE_UID}:${WINE_UID}`,
        hardening: 'standard',
        network: 'none',
        init: true,
        pidsLimit: 512,
        memoryMb: 2048,
        env: { RETROLAB_PEER_PORT: String(WINE_PEER_PORT) },
        binds: [
          { hostPath: runDir, containerPath: RUN_DIR },
          { hostPath: vmDir, containerPath: '/opt/retrolab/vm', readOnly: true },
          { hostPath: binDir, containerPath: '/opt/retrolab/bin', readOnly: true },
        ],
      },
      { signal: options.signal },
    ),
  );
  const socketPath = posix.join(runDir, 'serial.sock');
  const stream = await waitForSocketListening(socketPath, {
    connect: (path, signal) => files.connect(path, { signal }),
    what: "the wine container's serial line (serial.sock) to accept a connection",
    timeoutMs: options.lineTimeoutMs ?? 60_000,
    firstDelayMs: 100,
    maxDelayMs: 300,
    factor: 1.2,
    signal: options.signal,
    onProgress: options.onWait,
    check: async () => {
      if (!(await container.isRunning())) {
        throw new TargetStartError(`the wine container exited before its serial line came up:\n${container.output().stderr.slice(-2000)}`);
      }
    },
  }).catch((error: unknown) => {
    if (error instanceof TargetStartError) throw error;
    options.signal?.throwIfAborted();
    throw new TargetStartError(`the wine container's serial line (${socketPath}) did not come up`, {
      cause: error,
      context: { runDir, stderr: container.output().stderr.slice(-2000) },
    });
  });
  stack.defer(() => void stream.destroy());
  const owned = stack.move();
  return { runDir, stream, container, [Symbol.asyncDispose]: () => owned[Symbol.asyncDispose]() };
}
