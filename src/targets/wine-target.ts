import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pRetry from 'p-retry';
import { AgentClient } from '../agent/agent-client.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { RUNNER_IMAGES } from '../docker/runner-images.ts';
import { buildGuestApps } from '../guest-apps/build.ts';
import { GUEST_BUILD_DIR } from '../guest-apps/paths.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { ResourceStack } from '../util/dispose.ts';
import { PROJECT_ROOT, cacheDir, resultsDir } from '../util/paths.ts';
import type { TargetHandle } from './target-handle.ts';
import { TargetStartError } from './errors.ts';

/** The wine user in the wine-runner image. */
const WINE_USER = '1000:1000';
const PEER_PORT = 7000;
const RUN_DIR = '/run/retrolab';


export interface StartTargetOptions {
  docker: DockerClient;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Where this run's artifacts go; a folder under results/artifacts by default. */
  artifactsDir?: string;
  /** How long to wait for the agent's banner (Wine's first start is slow under emulation). */
  readyTimeoutMs?: number;
}

function connectUnix(path: string, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onAbort = () => socket.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

/**
 * Starts the `wine` target: a wine-runner container whose COM1 is a pty
 * bridged to a unix socket in a bind-mounted run directory (vms/wine/start-agent.sh),
 * with the agent running under Wine and the scenario peer on 127.0.0.1:7000.
 */
export async function startWineTarget(options: StartTargetOptions): Promise<TargetHandle> {
  const progress = options.onProgress ?? silentProgress;
  const scope = 'wine';
  const started = Date.now();
  const signal = AbortSignal.any([AbortSignal.timeout(options.readyTimeoutMs ?? 180_000), ...(options.signal ? [options.signal] : [])]);
  await using stack = new ResourceStack();

  await buildGuestApps({ signal, onProgress: progress });
  const runsRoot = join(cacheDir(), 'runs');
  await mkdir(runsRoot, { recursive: true });
  const runDir = stack.adopt(await mkdtemp(join(runsRoot, 'wine-')), (dir) => rm(dir, { recursive: true, force: true }));
  if (process.getuid?.() === 0) await chown(runDir, 1000, 1000);
  const artifactsDir = options.artifactsDir ?? join(resultsDir(), 'artifacts', `${options.docker.runId}-wine`);

  progress({ kind: 'step', scope, message: 'starting the Wine container and the agent' });
  const container = stack.use(
    await options.docker.start(
      {
        image: RUNNER_IMAGES.wine,
        cmd: ['sh', '/opt/retrolab/vm/start-agent.sh'],
        user: WINE_USER,
        hardening: 'standard',
        network: 'none',
        init: true,
        pidsLimit: 512,
        memoryMb: 2048,
        env: { RETROLAB_PEER_PORT: String(PEER_PORT) },
        binds: [
          { hostPath: runDir, containerPath: RUN_DIR },
          { hostPath: join(PROJECT_ROOT, 'vms', 'wine'), containerPath: '/opt/retrolab/vm', readOnly: true },
          { hostPath: GUEST_BUILD_DIR, containerPath: '/opt/retrolab/bin', readOnly: true },
        ],
      },
      { signal },
    ),
  );

  const collectArtifacts = async (reason: string): Promise<string[]> => {
    await mkdir(artifactsDir, { recursive: true });
    const { stdout, stderr } = container.output();
    const file = join(artifactsDir, 'container.log');
    await writeFile(file, `reason: ${reason}\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n`);
    return [file];
  };

  let agent: AgentClient;
  try {
    const socket = await pRetry(
      async () => {
        if (!(await container.isRunning())) {
          const { stderr } = container.output();
          throw new TargetStartError(`the wine container exited before its serial line came up:\n${stderr.slice(-2000)}`);
        }
        return connectUnix(join(runDir, 'serial.sock'), signal);
      },
      { retries: 600, minTimeout: 200, maxTimeout: 500, factor: 1, signal, shouldRetry: ({ error }) => !(error instanceof TargetStartError) },
    );
    agent = stack.use(await AgentClient.connect(socket, { signal, handshakeTimeoutMs: options.readyTimeoutMs ?? 180_000 }));
  } catch (error) {
    const files = await collectArtifacts(`start failed: ${error instanceof Error ? error.message : String(error)}`).catch(() => []);
    throw new TargetStartError(`The wine target did not become ready: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      context: { artifacts: files, elapsedMs: Date.now() - started },
    });
  }
  progress({ kind: 'done', scope, message: `agent ready: ${agent.banner.text}`, durationMs: Date.now() - started });

  const owned = stack.move();
  return {
    target: 'wine',
    agent,
    peer: { host: '127.0.0.1', port: PEER_PORT },
    guestWorkDir: 'C:\\retrolab',
    artifactsDir,
    collectArtifacts,
    [Symbol.asyncDispose]: () => owned[Symbol.asyncDispose](),
  };
}
