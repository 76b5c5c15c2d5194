import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAPER_ROLE } from '../../src/docker/engine-reaper.ts';
import { LABEL } from '../../src/docker/labels.ts';
import { processAlive } from '../../src/util/owner-ledger.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';
import { testHostEnv } from '../support/test-host.ts';

/**
 * Reapers on every engine a run uses. A real `retrolab run` over this
 * machine's engine and the namespaced one reached by SSH
 * (scripts/test-host.sh) is killed with SIGKILL mid-scenario: nothing of it
 * runs again, so what disappears from the SSH host was removed there, by the
 * reaper container it started. Then the SSH connection alone is cut (its
 * sshd process killed) under a live owner: the reaper acts on its own.
 * The engines are read through their sockets directly (connecting through
 * retrolab would sweep, and hide what is left).
 */

const NS = process.env.RETROLAB_TESTHOST_NS ?? 'retrolab-host2';
const LOCAL = 'unix:///var/run/docker.sock';
let env: Record<string, string>;
let work: string;
let local: Docker;
let remote: Docker;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'host-reaper-'));
  env = await testHostEnv();
  expect(env.RETROLAB_TESTHOST_SOCKET, 'scripts/test-host.sh up printed no RETROLAB_TESTHOST_SOCKET').toBeDefined();
  local = new Docker({ socketPath: '/var/run/docker.sock' });
  remote = new Docker({ socketPath: env.RETROLAB_TESTHOST_SOCKET! });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Labelled {
  id: string;
  reaper: boolean;
}

async function labelled(docker: Docker, owner: number): Promise<Labelled[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL.ownerPid}=${owner}`] } });
  return found.map((c) => ({ id: c.Id, reaper: c.Labels[REAPER_ROLE.key] === REAPER_ROLE.value }));
}

async function waitFor<T>(what: string, withinMs: number, probe: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: Date.now() - started };
    if (Date.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** The pids of the sshd processes in the test host that serve `owner`'s SSH connection. */
async function sshdServing(owner: number): Promise<number[]> {
  const mine = (await run('ss', ['-tnpH', 'state', 'established', 'dst', `${env.RETROLAB_TESTHOST_ADDRESS}:22`]))
    .split('\n')
    .filter((line) => line.includes(`pid=${owner},`));
  const ports = mine.map((line) => /\s\S+:(\d+)\s+\S+:22\b/.exec(line)?.[1]).filter((p): p is string => p !== undefined);
  const pids: number[] = [];
  for (const port of ports) {
    const there = await run('nsenter', [
      `--net=/var/run/netns/${NS}`,
      'ss',
      '-tnpH',
      'state',
      'established',
      `( sport = :22 and dport = :${port} )`,
    ]);
    for (const match of there.matchAll(/pid=(\d+)/g)) pids.push(Number(match[1]));
  }
  return [...new Set(pids)];
}

describe('every engine a run uses is reaped', () => {
  it('SIGKILL of `retrolab run` mid-scenario over both hosts: no container of it on either engine within 30 s', async () => {
    const scenarios = ['dup-close', 'workaround-late-close', 'leak-control', 'workaround-dummy-socket'];
    const args = [join(PROJECT_ROOT, 'bin/retrolab.js'), 'run', '--target', 'wine', ...scenarios.flatMap((s) => ['--scenario', s])];
    const child = spawn(process.execPath, [...args, '--cycles', '20', '--host', env.RETROLAB_TESTHOST_URL!, '--host', LOCAL], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env, RETROLAB_RESULTS: join(work, 'killed') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const owner = child.pid!;
    try {
      // A scenario under way on each engine, and the SSH host's reaper beside it.
      const remoteName = `root@${env.RETROLAB_TESTHOST_ADDRESS}`;
      await waitFor(`a scenario on both hosts (stderr: ${stderr.slice(-1500)})`, 180_000, async () => {
        const onRemote = new RegExp(`\\[wine [a-z-]+ @${remoteName.replace(/\./g, '\\.')}\\] NETSTAT before`).test(stderr);
        const [there, here] = [await labelled(remote, owner), await labelled(local, owner)];
        return onRemote && there.some((c) => !c.reaper) && there.some((c) => c.reaper) && here.some((c) => !c.reaper) ? true : undefined;
      });
      // This machine's engine is the reaper process's: no reaper container there.
      expect((await labelled(local, owner)).filter((c) => c.reaper)).toEqual([]);
    } finally {
      process.kill(owner, 'SIGKILL');
    }
    await exited;
    const { ms } = await waitFor('every container of the killed run gone', 30_000, async () => {
      const left = [...(await labelled(remote, owner)), ...(await labelled(local, owner))];
      return left.length === 0 ? true : undefined;
    });
    expect(ms).toBeLessThan(30_000);
  }, 300_000);

  it('the SSH connection cut under a live owner: the reaper on that host removes its containers and itself', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/remote-owner.ts'), env.RETROLAB_TESTHOST_URL!],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      const made = (
        await waitFor(`the owner's container (output: ${out})`, 60_000, () => {
          const line = out.split('\n').find((l) => l.startsWith('{"owner"'));
          return Promise.resolve(line ? (JSON.parse(line) as { owner: number; container: string; reaper: string }) : undefined);
        })
      ).value;
      expect((await labelled(remote, made.owner)).map((c) => c.id).sort()).toEqual([made.container, made.reaper].sort());
      const sshd = await sshdServing(made.owner);
      expect(sshd.length, `no sshd process in ${NS} serves pid ${made.owner}`).toBeGreaterThan(0);
      for (const pid of sshd) process.kill(pid, 'SIGKILL');
      await waitFor('the owner told its connection is lost', 15_000, () => Promise.resolve(out.includes('{"lost"') ? true : undefined));
      const { ms } = await waitFor('the owner’s container and the reaper gone', 30_000, async () =>
        (await labelled(remote, made.owner)).length === 0 ? true : undefined,
      );
      expect(ms).toBeLessThan(30_000);
      // Nothing on this machine did it: the owner still runs.
      expect(processAlive(made.owner)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
