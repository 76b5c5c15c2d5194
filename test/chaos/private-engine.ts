import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerFromEnvironment } from '../../src/docker/docker-client.ts';
import { PrerequisiteError } from '../../src/errors.ts';
import { processAlive } from '../../src/util/owner-ledger.ts';
import { waitFor } from './process-faults.ts';

/**
 * A Docker engine of the chaos run's own, so that "dockerd restarted mid-run"
 * never touches the engine other runs on this host share: its own network
 * namespace, data-root, exec-root (with the containerd dockerd starts for
 * itself), pidfile, socket and cgroup parent, no bridge and no iptables
 * (retrolab's containers run with network none). The runner images are copied
 * in from the shared engine (docker save | docker load) when missing; the
 * data-root is kept between chaos runs so that happens once.
 */

const NS = 'retrolab-chaos';
const STATE = '/var/lib/retrolab-chaos';
const RUN = '/run/retrolab-chaos';
const SOCKET = join(RUN, 'docker.sock');
const HOST = `unix://${SOCKET}` as const;

export interface PrivateEngine {
  /** For DOCKER_HOST. */
  host: `unix://${string}`;
  /** dockerd's pid (this process started it). */
  pid: number;
  /** Stops dockerd as a service restart does (SIGTERM: it stops its containers, then exits) and starts it again. */
  restart(): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(stdout),
    ),
  );
}

/** The dockerd a chaos run that was killed left running, by its pidfile in this engine's own exec folder. */
async function leftoverDockerd(): Promise<number | undefined> {
  const pid = Number((await readFile(join(RUN, 'dockerd.pid'), 'utf8').catch(() => '')).trim());
  if (!pid || !processAlive(pid)) return undefined;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return command.startsWith('dockerd\0') && command.includes(`${SOCKET}\0`) ? pid : undefined;
}

async function startDockerd(): Promise<number> {
  const { docker } = dockerFromEnvironment(HOST);
  const leftover = await leftoverDockerd();
  if (leftover) await stopDockerd(leftover);
  await mkdir(RUN, { recursive: true });
  await rm(SOCKET, { force: true });
  const log = openSync(join(STATE, 'dockerd.log'), 'a');
  // nsenter execs dockerd in place, so the pid is dockerd's own.
  const child = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${NS}`,
      'dockerd',
      '--data-root',
      join(STATE, 'docker'),
      '--exec-root',
      join(RUN, 'exec'),
      '--pidfile',
      join(RUN, 'dockerd.pid'),
      '--host',
      `unix://${SOCKET}`,
      '--bridge',
      'none',
      '--iptables=false',
      '--ip-masq=false',
      '--cgroup-parent',
      NS,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('nsenter dockerd did not start');
  const up = await waitFor(
    () =>
      docker.ping().then(
        () => true,
        () => false,
      ),
    60_000,
    500,
  );
  if (!up) throw new Error(`the private dockerd (pid ${pid}) did not answer on ${SOCKET} within 60 s; see ${join(STATE, 'dockerd.log')}`);
  return pid;
}

async function stopDockerd(pid: number): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitFor(() => !processAlive(pid), 60_000, 250))) process.kill(pid, 'SIGKILL');
  await waitFor(() => !processAlive(pid), 10_000, 250);
}

/** Starts the engine and makes sure it holds `images` (by image id, as the shared engine has them). */
export async function startPrivateEngine(images: string[]): Promise<PrivateEngine> {
  if (process.getuid?.() !== 0)
    throw new PrerequisiteError('the private engine needs root (a network namespace, a second dockerd)', 'run npm run chaos as root');
  await mkdir(STATE, { recursive: true });
  const namespaces = await run('ip', ['netns', 'list']);
  if (!namespaces.split('\n').some((line) => line.split(' ')[0] === NS)) await run('ip', ['netns', 'add', NS]);
  let pid = await startDockerd();
  const { docker } = dockerFromEnvironment(HOST);
  const { docker: shared } = dockerFromEnvironment();
  const missing: string[] = [];
  for (const ref of images) {
    const want = (await shared.getImage(ref).inspect()).Id;
    const have = await docker
      .getImage(ref)
      .inspect()
      .then(
        (i) => i.Id,
        () => undefined,
      );
    if (have !== want) missing.push(ref);
  }
  if (missing.length > 0) await run('sh', ['-c', `docker save ${missing.join(' ')} | docker -H unix://${SOCKET} load`]);
  return {
    host: HOST,
    get pid() {
      return pid;
    },
    async restart() {
      const started = Date.now();
      await stopDockerd(pid);
      pid = await startDockerd();
      return { downMs: Date.now() - started };
    },
    async stop() {
      await stopDockerd(pid);
      await run('ip', ['netns', 'del', NS]).catch(() => undefined);
    },
  };
}
