import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import type { RunResult } from '../../src/docker/container-spec.ts';
import { startWineShell } from '../support/wine-shell.ts';
import type { StartedContainer } from '../../src/docker/started-container.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';

// The guest programs under Wine 8 in the wine-runner image, judged by their
// own event lines (guest-apps/README.md), tcptab and Wine's netstat.

interface Event {
  event: string;
  f: Record<string, string>;
}

function events(stdout: string): Event[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const f: Record<string, string> = {};
      for (const word of line.trim().split(/\s+/)) {
        const eq = word.indexOf('=');
        if (eq > 0) f[word.slice(0, eq)] = word.slice(eq + 1);
      }
      return { event: f.event ?? '', f };
    });
}

function only(list: Event[], name: string, role?: string): Event[] {
  return list.filter((e) => e.event === name && (role === undefined || e.f.role === role));
}

function describeRun(result: RunResult): string {
  return `exit ${result.exitCode}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** Under qemu-user every Wine process start costs seconds, and a cycle starts one. */
const SLOW = 900_000;

let docker: DockerClient;
let wine: StartedContainer;

async function run(program: string, args: string[] = []): Promise<{ result: RunResult; list: Event[] }> {
  const result = await wine.exec(['wine', `/guest/${program}.exe`, ...args]);
  return { result, list: events(result.stdout) };
}

/** Every cycle ok, every call in it ok, the peer saw each connection end, and the final connect worked. */
function expectCleanCycles(list: Event[], cycles: number, app = '0'): void {
  // cycle=0 is the final connect, which has its own accept.
  const mine = list.filter((e) => e.f.app === app && e.f.cycle !== '0');
  expect(only(mine, 'cycle').map((e) => [e.f.cycle, e.f.ok])).toEqual(Array.from({ length: cycles }, (_, i) => [String(i + 1), '1']));
  for (const name of [
    'child-start',
    'connect',
    'accept',
    'duplicate',
    'child-open',
    'child-send',
    'child-close',
    'parent-close',
    'child-exit',
    'peer-close',
  ]) {
    const seen = only(mine, name);
    expect(seen, name).toHaveLength(cycles);
    expect(
      seen.filter((e) => e.f.ok !== '1'),
      `${name} failures`,
    ).toEqual([]);
  }
  expect(only(mine, 'peer-eof').map((e) => [e.f.ok, e.f.bytes])).toEqual(Array.from({ length: cycles }, () => ['1', '5']));
}

beforeAll(async () => {
  const built = await buildGuestApps({ only: ['dupclose', 'duphandle', 'tcptab', 'providers'] });
  const binDir = dirname(built[0]!.path);
  docker = await connectDocker();
  wine = await startWineShell(docker, [{ hostPath: binDir, containerPath: '/guest', readOnly: true }]);
});

afterAll(async () => {
  await wine?.stop();
  await docker?.[Symbol.asyncDispose]();
});

const XP1_GUARANTEED_DELIVERY = 0x2;
const XP1_QOS_SUPPORTED = 0x2000;

describe("the provider choice on Wine's list (KB Q216603)", () => {
  it(
    'lists every provider and chooses a TCP one that is base and not QoS-capable',
    async () => {
      const { result, list } = await run('providers');
      expect(result.exitCode, describeRun(result)).toBe(0);
      const entries = only(list, 'entry');
      expect(entries.length, describeRun(result)).toBeGreaterThan(1);
      const [choice] = only(list, 'choice');
      expect(choice?.f, describeRun(result)).toMatchObject({ ok: '1', providers: String(entries.length) });
      const chosen = entries.find((e) => e.f.index === choice?.f.index);
      // The choice line repeats the fields of the entry it names.
      expect(chosen?.f.catalog_id).toBe(choice?.f.catalog_id);
      expect(chosen?.f).toMatchObject({ af: '2', type: '1', protocol: '6', chain_len: '1' });
      const flags = Number.parseInt(chosen?.f.flags1 ?? '', 16);
      expect(flags & XP1_GUARANTEED_DELIVERY).toBe(XP1_GUARANTEED_DELIVERY);
      expect(flags & XP1_QOS_SUPPORTED).toBe(0);
      // dupclose makes its sockets on the same provider.
      const run1 = await run('dupclose', ['--cycles', '1']);
      expect(only(run1.list, 'provider')[0]?.f).toMatchObject({ ok: '1', index: choice?.f.index, catalog_id: choice?.f.catalog_id });
    },
    SLOW,
  );
});

describe('dupclose under Wine', () => {
  it(
    'runs 20 plain KB cycles: every step and the final connect succeed',
    async () => {
      const { result, list } = await run('dupclose', ['--cycles', '20']);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expect(only(list, 'start')[0]?.f).toMatchObject({ prog: 'dupclose', mode: 'plain', close_order: 'duplicate-first', cycles: '20' });
      expect(only(list, 'wsastartup')[0]?.f).toMatchObject({ ok: '1', version: '2.2' });
      // KB Q216603: the sockets are made on the plain TCP provider, said once per process that connects.
      expect(only(list, 'provider').map((e) => e.f)).toEqual([
        expect.objectContaining({ ok: '1', call: 'choose', af: '2', type: '1', protocol: '6', chain_len: '1' }),
      ]);
      expectCleanCycles(list, 20);
      expect(only(list, 'duplicate').every((e) => e.f.call === 'WSADuplicateSocketA')).toBe(true);
      expect(only(list, 'final-connect')[0]?.f).toMatchObject({ ok: '1', err: '0' });
      expect(only(list, 'summary')[0]?.f).toMatchObject({ ok: '1', cycles_ok: '20', final_ok: '1', held: '0' });
    },
    SLOW,
  );

  it(
    'closes the original while the child runs (plain) and after it exited (late-close)',
    async () => {
      const plain = events((await wine.exec(['wine', '/guest/dupclose.exe', '--cycles', '2'])).stdout).map((e) => e.event);
      expect(plain.indexOf('parent-close')).toBeLessThan(plain.indexOf('child-exit'));

      const { result, list } = await run('dupclose', ['--cycles', '10', '--workaround', 'late-close']);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expectCleanCycles(list, 10);
      const order = list.filter((e) => e.f.cycle === '1').map((e) => e.event);
      expect(order.indexOf('child-exit')).toBeLessThan(order.indexOf('parent-close'));
      expect(only(list, 'summary')[0]?.f).toMatchObject({ ok: '1', final_ok: '1' });
    },
    SLOW,
  );

  it(
    'runs the dummy-socket workaround: the child opens and later closes a socket of its own',
    async () => {
      const { result, list } = await run('dupclose', ['--cycles', '10', '--workaround', 'dummy-socket']);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expectCleanCycles(list, 10);
      expect(only(list, 'dummy-socket').map((e) => e.f.ok)).toEqual(Array(10).fill('1'));
      expect(only(list, 'dummy-close').map((e) => e.f.ok)).toEqual(Array(10).fill('1'));
      expect(only(list, 'summary')[0]?.f).toMatchObject({ ok: '1', final_ok: '1' });
    },
    SLOW,
  );

  it(
    'closes the original before the duplicate with --close-order original-first',
    async () => {
      const { result, list } = await run('dupclose', ['--cycles', '10', '--close-order', 'original-first']);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expectCleanCycles(list, 10);
      for (let c = 1; c <= 10; c++) {
        const order = list.filter((e) => e.f.cycle === String(c)).map((e) => e.event);
        expect(order.indexOf('parent-close'), `cycle ${c}`).toBeLessThan(order.indexOf('child-close'));
      }
      expect(only(list, 'summary')[0]?.f).toMatchObject({ ok: '1', final_ok: '1' });
    },
    SLOW,
  );

  it.each([
    ['one after another', []],
    ['in parallel', ['--parallel']],
  ])(
    'runs --apps 3 %s: every application completes its cycles and the launcher connects at the end',
    async (_how, extra) => {
      const { result, list } = await run('dupclose', ['--apps', '3', '--cycles', '3', ...extra]);
      expect(result.exitCode, describeRun(result)).toBe(0);
      expect(only(list, 'app-start').map((e) => e.f.ok)).toEqual(['1', '1', '1']);
      expect(only(list, 'app-exit').map((e) => [e.f.target_app, e.f.ok])).toEqual([
        ['1', '1'],
        ['2', '1'],
        ['3', '1'],
      ]);
      for (const app of ['1', '2', '3']) {
        expectCleanCycles(list, 3, app);
        expect(only(list, 'summary', 'parent').find((e) => e.f.app === app)?.f).toMatchObject({ ok: '1', cycles_ok: '3' });
      }
      expect(only(list, 'final-connect', 'launcher')[0]?.f).toMatchObject({ ok: '1' });
      expect(only(list, 'summary', 'launcher')[0]?.f).toMatchObject({ ok: '1', apps: '3', apps_ok: '3', final_ok: '1' });
    },
    SLOW,
  );
});

describe('leak control under Wine', () => {
  it(
    'holds its sockets while it runs: tcptab and netstat both see them, and they are gone after it exits',
    async () => {
      const cycles = 5;
      await wine.exec([
        'sh',
        '-c',
        // Held until the checks below are done (the release file), at most 45 s.
        `wine /guest/dupclose.exe --leak-control --cycles ${cycles} --hold-ms 45000 --hold-until 'Z:\\tmp\\leak.go' >/tmp/leak.out 2>/tmp/leak.err &`,
      ]);
      let out = '';
      const deadline = Date.now() + 90_000;
      while (!out.includes('event=hold') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        out = (await wine.exec(['cat', '/tmp/leak.out'])).stdout;
      }
      const list = events(out);
      expect(only(list, 'hold')[0]?.f, out).toMatchObject({ ms: '45000', held: String(2 * cycles) });
      expect(only(list, 'child-hold')).toHaveLength(cycles);
      expect(only(list, 'parent-hold')).toHaveLength(cycles);
      expect(only(list, 'child-close')).toHaveLength(0);
      const port = only(list, 'listen')[0]?.f.port ?? '';
      expect(port).toMatch(/^\d+$/);

      const tab = await run('tcptab');
      expect(tab.result.exitCode, describeRun(tab.result)).toBe(0);
      const rows = only(tab.list, 'row');
      expect(only(tab.list, 'count')[0]?.f.rows).toBe(String(rows.length));
      const established = rows.filter((r) => r.f.state === 'ESTABLISHED');
      expect(
        established.filter((r) => r.f.remote === `127.0.0.1:${port}`),
        tab.result.stdout,
      ).toHaveLength(cycles);
      expect(
        established.filter((r) => r.f.local === `127.0.0.1:${port}`),
        tab.result.stdout,
      ).toHaveLength(cycles);
      expect(rows.filter((r) => r.f.state === 'LISTEN' && r.f.local === `127.0.0.1:${port}`)).toHaveLength(1);

      // Wine 8's netstat reads only the first letter of its option and prints no listeners.
      const netstat = await wine.exec(['wine', 'netstat', '-an']);
      const tcp = netstat.stdout
        .split(/\r?\n/)
        .map((line) => line.trim().split(/\s+/))
        .filter((w) => w[0] === 'TCP' && w[3] === 'ESTABLISHED');
      const touching = tcp.filter((w) => w[1]?.endsWith(`:${port}`) === true || w[2]?.endsWith(`:${port}`) === true);
      expect(touching, netstat.stdout).toHaveLength(2 * cycles);

      await wine.exec(['touch', '/tmp/leak.go']);
      let done = out;
      const exitDeadline = Date.now() + 90_000;
      while (!done.includes('event=summary') && Date.now() < exitDeadline) {
        await new Promise((r) => setTimeout(r, 500));
        done = (await wine.exec(['cat', '/tmp/leak.out'])).stdout;
      }
      expect(only(events(done), 'summary')[0]?.f, done).toMatchObject({ final_ok: '1', held: String(2 * cycles) });
      // The hold ended on the release file, not at --hold-ms; the program deleted the file to say it saw it.
      expect(only(events(done), 'hold-end')[0]?.f, done).toMatchObject({ released: '1' });
      expect((await wine.exec(['test', '-e', '/tmp/leak.go'])).exitCode).toBe(1);
      // Wine cleans up at process exit like NT: the held connections do not outlive the program.
      await new Promise((r) => setTimeout(r, 1000));
      const after = await run('tcptab');
      expect(
        only(after.list, 'row').filter(
          (r) => r.f.state === 'ESTABLISHED' && (r.f.local === `127.0.0.1:${port}` || r.f.remote === `127.0.0.1:${port}`),
        ),
      ).toEqual([]);
    },
    SLOW,
  );
});

describe('duphandle and tcptab under Wine', () => {
  it(
    'runs the Winsock 1.1 DuplicateHandle cycle to completion; Wine refuses the duplicated handle as a socket',
    async () => {
      const { result, list } = await run('duphandle', ['--cycles', '10']);
      expect(only(list, 'start')[0]?.f).toMatchObject({ prog: 'duphandle', mode: 'plain' });
      expect(only(list, 'wsastartup')[0]?.f).toMatchObject({ ok: '1', version: '1.1' });
      expect(only(list, 'duplicate').map((e) => [e.f.ok, e.f.call])).toEqual(Array(10).fill(['1', 'DuplicateHandle']));
      expect(only(list, 'child-open').map((e) => e.f.ok)).toEqual(Array(10).fill('1'));
      // Measured under Wine 8: a socket handle copied into another process with
      // DuplicateHandle is not a socket to that process's ws2_32 (WSAENOTSOCK 10038),
      // so the child can neither send on it nor close it; NT accepts it.
      expect(only(list, 'child-send').map((e) => [e.f.ok, e.f.err])).toEqual(Array(10).fill(['0', '10038']));
      expect(only(list, 'child-close').map((e) => [e.f.ok, e.f.err])).toEqual(Array(10).fill(['0', '10038']));
      // The parent's own close still ends each connection: nothing leaks.
      expect(only(list, 'parent-close').map((e) => e.f.ok)).toEqual(Array(10).fill('1'));
      expect(only(list, 'peer-eof').map((e) => [e.f.ok, e.f.bytes])).toEqual(Array(10).fill(['1', '0']));
      expect(only(list, 'final-connect')[0]?.f).toMatchObject({ ok: '1' });
      expect(only(list, 'summary')[0]?.f).toMatchObject({ ok: '0', cycles_run: '10', cycles_ok: '0', final_ok: '1' });
      expect(result.exitCode, describeRun(result)).toBe(1);
    },
    SLOW,
  );

  it(
    'prints a consistent table and exits 0 where iphlpapi exists',
    async () => {
      const { result, list } = await run('tcptab');
      expect(result.exitCode, describeRun(result)).toBe(0);
      expect(list.every((e) => e.event === 'row' || e.event === 'count')).toBe(true);
      expect(only(list, 'count')).toHaveLength(1);
      expect(list.at(-1)?.event).toBe('count');
    },
    SLOW,
  );

  it(
    'refuses arguments with its usage exit code',
    async () => {
      const { result } = await run('tcptab', ['--bogus']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('usage: tcptab');
    },
    SLOW,
  );
});
