import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { PHASE_NAMES, type ResultEntry } from '../../src/model/run-results.ts';
import type { ScenarioName } from '../../src/model/scenario-catalog.ts';
import { runMatrix, type MatrixOptions } from '../../src/scenarios/matrix-run.ts';
import { GuestFileChangedError } from '../../src/agent/errors.ts';
import type { ProgressEvent } from '../../src/report/progress.ts';
import { fakePreparedTarget, type FakeBehaviour } from '../support/fake-guest.ts';

// The orchestration of a run against fake guests (test/support/fake-guest.ts):
// the order guests start and stop in, what a hang or a short run becomes, the
// event-driven hold, the phase times and the patch record. The real guests
// are exercised by the e2e suites.

// The engine answers: an infra-error is the guest's, not a host that dropped (which would queue the scenario again).
const FAKE_DOCKER = { endpoint: 'fake://', ping: () => Promise.resolve() } as unknown as DockerClient;

function matrix(
  scenarios: ScenarioName[],
  options: {
    reuseGuest?: boolean;
    behaviour?: (commandLine: string) => FakeBehaviour;
    execGuestMs?: number;
    patch?: MatrixOptions['patch'];
    patchWhen?: MatrixOptions['patchWhen'];
    install?: (commandLine: string) => { exitCode: number; stdout: string };
    programTimeoutMs?: number;
  } = {},
) {
  const log: string[] = [];
  const prepared = fakePreparedTarget({
    log,
    behaviour: options.behaviour,
    install: options.install,
    execGuestMs: options.execGuestMs ?? 0,
  });
  const run = runMatrix({
    hosts: [{ name: 'local', docker: FAKE_DOCKER, slots: 1 }],
    targets: ['wine'],
    scenarios,
    // Like the real targets: a saved-state patch is installed once, in a guest of the preparation.
    prepare: async (_target, prepareOptions) => {
      if (prepareOptions.patch === undefined) return prepared;
      await using guest = await prepared.startGuest();
      return Object.assign(prepared, { patch: await prepareOptions.patch.install(guest, {}) });
    },
    run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: options.programTimeoutMs ?? 30_000 },
    ...(options.reuseGuest ? { reuseGuest: true } : {}),
    patch: options.patch,
    patchWhen: options.patchWhen,
  });
  return { log, prepared, run };
}

const entry = (entries: ResultEntry[], scenario: string): ResultEntry => {
  const found = entries.find((e) => e.scenario === scenario);
  if (!found) throw new Error(`no entry for ${scenario}`);
  return found;
};

describe('runMatrix: a clean guest per scenario', () => {
  it('stops each scenario’s guest before the next one starts, and the next one’s table starts empty', async () => {
    const { log, prepared, run } = matrix(['leak-after-exit', 'dup-close']);
    const { entries } = await run;

    expect(log.filter((line) => /^(start|dispose) /.test(line))).toEqual(['start g1', 'dispose g1', 'start g2', 'dispose g2']);
    // Nothing happens on a guest after it was disposed.
    expect(log.slice(log.indexOf('dispose g1')).some((line) => line.startsWith('g1:'))).toBe(false);
    const [leakAfterExit, dupClose] = [entry(entries, 'leak-after-exit'), entry(entries, 'dup-close')];
    expect([leakAfterExit.guest, dupClose.guest]).toEqual([
      { start: 'saved-state', id: 'g1', startMs: 5 },
      { start: 'saved-state', id: 'g2', startMs: 5 },
    ]);
    expect(leakAfterExit.verdict, leakAfterExit.reason).toBe('pass');
    expect(leakAfterExit.observed).toBe('leak');
    expect(dupClose.verdict, dupClose.reason).toBe('pass');

    // The holder's connections were in g1's after-exit table and nowhere in dup-close's "before".
    const held = prepared.guests[0]!.rows.map((row) => row.local);
    expect(held.length).toBeGreaterThan(0);
    for (const local of held) expect(leakAfterExit.netstat?.after.raw).toContain(local);
    for (const local of held) expect(dupClose.netstat?.before.raw).not.toContain(local);
  });

  it('--reuse-guest: one guest, the later entries say "reused", and the earlier scenario’s connections are in the next one’s table', async () => {
    const { log, prepared, run } = matrix(['leak-after-exit', 'dup-close'], { reuseGuest: true });
    const { entries } = await run;
    expect(log.filter((line) => /^(start|dispose) /.test(line))).toEqual(['start g1', 'dispose g1']);
    expect(entry(entries, 'leak-after-exit').guest).toEqual({ start: 'saved-state', id: 'g1', startMs: 5 });
    expect(entry(entries, 'dup-close').guest).toEqual({ start: 'reused', id: 'g1', startMs: 0 });
    // What isolation is for: the carry-over the first test shows is gone.
    const firstRunRows = prepared.guests[0]!.rows.slice(0, 41).map((row) => row.local);
    for (const local of firstRunRows) expect(entry(entries, 'dup-close').netstat?.before.raw).toContain(local);
  });

  it('a program that hangs is an infra-error; with --reuse-guest its guest is replaced for the next scenario', async () => {
    const hangs = (commandLine: string): FakeBehaviour =>
      /dupclose\.exe/.test(commandLine) && !/late-close/.test(commandLine) ? 'hang' : 'normal';
    const { log, run } = matrix(['dup-close', 'workaround-late-close'], { reuseGuest: true, behaviour: hangs, programTimeoutMs: 300 });
    const { entries } = await run;
    const [hung, next] = [entry(entries, 'dup-close'), entry(entries, 'workaround-late-close')];
    expect(hung.verdict).toBe('infra-error');
    expect(hung.reason).toMatch(/did not finish within 300 ms \(left running: its guest is not used again\)/);
    expect(next.verdict, next.reason).toBe('pass');
    expect(next.guest).toEqual({ start: 'saved-state', id: 'g2', startMs: 5 });
    expect(log.indexOf('dispose g1')).toBeLessThan(log.indexOf('start g2'));
  });

  it('a guest whose agent goes silent is an infra-error for that scenario only', async () => {
    let calls = 0;
    const silentOnce = (commandLine: string): FakeBehaviour => (/dupclose\.exe/.test(commandLine) && calls++ === 0 ? 'silent' : 'normal');
    const { run } = matrix(['dup-close', 'workaround-dummy-socket'], { behaviour: silentOnce });
    const { entries } = await run;
    expect(entry(entries, 'dup-close').verdict).toBe('infra-error');
    expect(entry(entries, 'dup-close').reason).toMatch(/did not answer EXEC/);
    expect(entry(entries, 'workaround-dummy-socket').verdict).toBe('pass');
    expect(entry(entries, 'workaround-dummy-socket').guest?.id).toBe('g2');
  });

  // The chaos case "dockerd restarted mid-run": the container went away after the program was started, and the
  // runner read the program's output as "not written yet" on every failed GET, polling a dead line until the
  // program's 600 s timeout (the orchestrator did not exit within 120 s of the restart).
  it('a serial line that ends while the program runs is an infra-error at once, not at the program timeout', async () => {
    const gone = (commandLine: string): FakeBehaviour => (/dupclose\.exe/.test(commandLine) ? 'gone' : 'normal');
    const { log, run } = matrix(['dup-close', 'workaround-dummy-socket'], { behaviour: gone, programTimeoutMs: 600_000 });
    const { entries } = await run;
    for (const scenario of ['dup-close', 'workaround-dummy-socket']) {
      expect(entry(entries, scenario).verdict).toBe('infra-error');
      expect(entry(entries, scenario).reason).toMatch(/^the serial stream ended/);
    }
    // Each guest is disposed right after its line ended, and the next scenario gets a fresh one.
    for (const id of ['g1', 'g2']) expect(log[log.indexOf(`${id}: dupclose plain (background) 30/30`) + 1]).toBe(`dispose ${id}`);
  }, 10_000);

  // dup-close-many-apps on wine: 15 programs write the output while the runner reads it in 32 KiB chunks, and a read
  // saw the size change between two chunks. That read is a "try again", as every failed read was before the line's
  // end became final; made final too, it turned a sound run into an infra-error.
  it('an output file that grows while it is read is read again, not an infra-error', async () => {
    const log: string[] = [];
    let changed = 0;
    const prepared = fakePreparedTarget({
      log,
      getFileError: (path) =>
        /dup-close-\d+\.log$/.test(path) && changed++ < 3
          ? new GuestFileChangedError(path, { before: 33580, after: 35180, offset: 32768 })
          : undefined,
    });
    const { entries } = await runMatrix({
      hosts: [{ name: 'local', docker: FAKE_DOCKER, slots: 1 }],
      targets: ['wine'],
      scenarios: ['dup-close'],
      prepare: () => Promise.resolve(prepared),
      run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 },
    });
    expect(changed).toBeGreaterThan(3);
    expect(entries[0]?.verdict, entries[0]?.reason).toBe('pass');
  });

  // #11: a fresh guest per scenario, "or, where that is impossible, the target's remaining scenarios are
  // infra-error at once". Each scenario used to try a start of its own, each waiting out the target's whole
  // start-up time (240 s for wine-vm's agent banner) before its own infra-error.
  it('a guest that does not start ends the target: the rest of it is an infra-error at once, without more starts', async () => {
    const log: string[] = [];
    let attempts = 0;
    const prepared = fakePreparedTarget({
      log,
      startError: () => {
        attempts += 1;
        return new Error("the agent's banner did not come within 240 s");
      },
    });
    const { entries } = await runMatrix({
      hosts: [{ name: 'local', docker: FAKE_DOCKER, slots: 1 }],
      targets: ['wine'],
      scenarios: ['dup-close', 'workaround-dummy-socket', 'close-order'],
      prepare: () => Promise.resolve(prepared),
      run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 },
    });
    expect(attempts).toBe(1);
    expect(entries.map((e) => [e.scenario, e.verdict])).toEqual([
      ['dup-close', 'infra-error'],
      ['workaround-dummy-socket', 'infra-error'],
      ['close-order', 'infra-error'],
    ]);
    expect(entries[0]!.reason).toBe("wine: the scenario's guest did not start: the agent's banner did not come within 240 s");
    expect(entries[0]!.phases?.guestStart).toBeDefined();
    for (const later of entries.slice(1)) {
      expect(later.reason).toBe(
        "not run: wine's guest did not start for dup-close, and every scenario needs a fresh one (wine: the scenario's guest did not start: the agent's banner did not come within 240 s)",
      );
      expect(later.fix).toContain('retrolab prepare --target wine');
    }
  });

  // A dockerd restart: the scenario ended, then its container's removal got no answer. The removal's error
  // replaced the entry, so the run reported "Removing container ..." instead of what the scenario saw.
  it('a guest whose cleanup fails keeps its entry, and the failure is a warning naming it', async () => {
    const log: string[] = [];
    const events: ProgressEvent[] = [];
    const disposeError = new Error('Removing container c0ffee got no answer from the engine within 15 s');
    const prepared = fakePreparedTarget({ log, disposeError });
    const { entries } = await runMatrix({
      hosts: [{ name: 'local', docker: FAKE_DOCKER, slots: 1 }],
      targets: ['wine'],
      scenarios: ['dup-close', 'workaround-dummy-socket'],
      prepare: () => Promise.resolve(prepared),
      onProgress: (event) => events.push(event),
      run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 },
    });
    expect(entries.map((e) => [e.scenario, e.verdict, e.guest?.id])).toEqual([
      ['dup-close', 'pass', 'g1'],
      ['workaround-dummy-socket', 'pass', 'g2'],
    ]);
    expect(log.filter((line) => line.startsWith('dispose'))).toEqual(['dispose g1', 'dispose g2']);
    expect(events.flatMap((e) => (e.kind === 'warn' ? [`${e.scope}: ${e.message}`] : []))).toEqual([
      `wine dup-close: the scenario's guest was not cleaned up: ${disposeError.message}`,
      `wine workaround-dummy-socket: the scenario's guest was not cleaned up: ${disposeError.message}`,
    ]);
  });

  it('a run cut short (1 of 30 cycles, clean exit) is an infra-error, not a clean pass', async () => {
    const { run } = matrix(['dup-close'], { behaviour: (commandLine) => (/dupclose\.exe/.test(commandLine) ? 'short' : 'normal') });
    const [result] = (await run).entries;
    expect(result?.verdict).toBe('infra-error');
    // 30: the fake is a Wine guest, which has no MSTCP table to outrun (tableFillCycles).
    expect(result?.reason).toMatch(/only 1 of 30 planned cycles ran/);
  });

  it('a held program is released as soon as the runner has its "during" table, not at its --hold-ms bound', async () => {
    const { log, run } = matrix(['leak-control']);
    const [result] = (await run).entries;
    expect(result?.verdict, result?.reason).toBe('pass');
    expect(result?.observed).toBe('leak');
    const released = log.findIndex((line) => /^g1: released C:\\retrolab\\leak-control-\d+\.go$/.test(line));
    const netstats = log.map((line, i) => (line === 'g1: netstat' ? i : -1)).filter((i) => i >= 0);
    // before, during, after: the release comes between the second and the third.
    expect(netstats).toHaveLength(3);
    expect(released).toBeGreaterThan(netstats[1]!);
    expect(released).toBeLessThan(netstats[2]!);
  });
});

describe('runMatrix: reading the program’s output', () => {
  it('moves each byte of the output once, though it is read before the hold and again after it', async () => {
    const { prepared, run } = matrix(['leak-control']);
    const [result] = (await run).entries;
    expect(result?.verdict, result?.reason).toBe('pass');
    const reads = [...prepared.guests[0]!.bytesRead].filter(([path]) => /leak-control-\d+\.log$/.test(path));
    expect(reads).toHaveLength(1);
    // Crafted: every read fetched the whole file before, so the lines up to the hold came over the line twice or more.
    const whole = 'event=summary role=parent app=0'.length;
    expect(reads[0]![1]).toBeGreaterThan(whole);
    expect(reads[0]![1]).toBe(prepared.guests[0]!.outputLength(reads[0]![0]));
  });
});

describe('runMatrix: phase times', () => {
  it('times every phase; guest side is the guests’ own exec time plus the detached program’s run time, overhead the rest', async () => {
    const { prepared, run } = matrix(['dup-close'], { execGuestMs: 7 });
    const [result] = (await run).entries;
    const phases = result!.phases!;
    expect(Object.keys(phases).sort()).toEqual([...PHASE_NAMES, 'wall', 'guestSide', 'overhead'].sort());
    // The fake dupclose's summary says ms=5: the cycles' own time, which the background start's exec (7) does not contain.
    expect(phases.guestSide).toBe(7 * prepared.guests[0]!.execs.length + 5);
    expect(phases.overhead).toBe(phases.wall - phases.guestSide);
    expect(result!.durationMs).toBe(phases.wall);
  });
});

describe('runMatrix: --patch', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function patchFolder(): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'retrolab-patch-'));
    await writeFile(join(dir, 'fix.reg'), 'REGEDIT4\r\n');
    await writeFile(join(dir, 'install.bat'), '@echo installed\r\n');
    return dir;
  }

  it('installs the patch in every scenario’s guest and records hash, command, exit code and output', async () => {
    const folder = await patchFolder();
    const { prepared, run } = matrix(['dup-close', 'workaround-late-close'], {
      patch: { dir: folder, installCommand: 'install.bat' },
      install: () => ({ exitCode: 0, stdout: 'installed\r\n' }),
    });
    const { entries } = await run;
    for (const e of entries) {
      expect(e.verdict, e.reason).toBe('pass');
      expect(e.patch).toMatchObject({
        dir: folder,
        files: 2,
        installCommand: 'install.bat',
        exitCode: 0,
        output: 'installed\r\n',
        appliedTo: 'each-guest',
      });
      expect(e.patch?.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(entries[0]!.patch?.sha256).toBe(entries[1]!.patch?.sha256);
    for (const guest of prepared.guests) {
      expect(guest.files.get('C:\\retrolab\\patch\\fix.reg')?.toString()).toBe('REGEDIT4\r\n');
      expect(guest.execs).toContain('install.bat');
    }
    expect(prepared.guests).toHaveLength(2);
  });

  it('--patch-when saved-state installs it once, before the guests, and records that one install for every scenario', async () => {
    const folder = await patchFolder();
    const { log, prepared, run } = matrix(['dup-close', 'workaround-late-close'], {
      patch: { dir: folder, installCommand: 'install.bat' },
      patchWhen: 'saved-state',
      install: () => ({ exitCode: 0, stdout: 'installed\r\n' }),
    });
    const { entries } = await run;
    // g1 is the preparation's guest (its state is what the others start from); g2 and g3 run the scenarios.
    expect(log.filter((line) => /^(start|dispose) /.test(line))).toEqual([
      'start g1',
      'dispose g1',
      'start g2',
      'dispose g2',
      'start g3',
      'dispose g3',
    ]);
    const installs = prepared.guests.map((guest) => guest.execs.filter((command) => command === 'install.bat').length);
    expect(installs).toEqual([1, 0, 0]);
    expect(prepared.guests[0]!.files.get('C:\\retrolab\\patch\\fix.reg')?.toString()).toBe('REGEDIT4\r\n');
    for (const e of entries) {
      expect(e.verdict, e.reason).toBe('pass');
      expect(e.patch).toMatchObject({
        files: 2,
        installCommand: 'install.bat',
        exitCode: 0,
        output: 'installed\r\n',
        appliedTo: 'saved-state',
      });
    }
  });

  it('--patch-when saved-state: a failed install is an infra-error for every scenario, and no scenario guest starts', async () => {
    const folder = await patchFolder();
    const { log, run } = matrix(['dup-close', 'workaround-late-close'], {
      patch: { dir: folder, installCommand: 'install.bat' },
      patchWhen: 'saved-state',
      install: () => ({ exitCode: 5, stdout: 'access denied\r\n' }),
    });
    const { entries } = await run;
    expect(entries.map((e) => e.verdict)).toEqual(['infra-error', 'infra-error']);
    for (const e of entries) expect(e.patch).toMatchObject({ exitCode: 5, appliedTo: 'saved-state' });
    expect(log.filter((line) => /^start /.test(line))).toEqual(['start g1']);
  });

  it('a failed install is an infra-error for every scenario of the target, and none runs unpatched', async () => {
    const folder = await patchFolder();
    const { prepared, run } = matrix(['dup-close', 'workaround-late-close'], {
      patch: { dir: folder, installCommand: 'install.bat' },
      install: () => ({ exitCode: 5, stdout: 'access denied\r\n' }),
    });
    const { entries } = await run;
    expect(entries.map((e) => e.verdict)).toEqual(['infra-error', 'infra-error']);
    for (const e of entries) {
      expect(e.reason).toMatch(/install\.bat" exited with code 5/);
      expect(e.patch).toMatchObject({ exitCode: 5, output: 'access denied\r\n' });
    }
    expect(prepared.guests.flatMap((guest) => guest.execs).some((command) => /dupclose\.exe/.test(command))).toBe(false);
  });
});
