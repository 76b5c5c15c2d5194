import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultEntry, RunResults } from '../../src/model/run-results.ts';
import { runResults, tallyRunTotals } from '../../src/model/run-results.ts';
import { compareWithBaseline } from '../../src/results/baseline-compare.ts';
import { encodePng } from '../../src/qemu/ppm-to-png.ts';

/**
 * A crafted run for the report's tests: win98 leaks and fails its
 * expectation on dup-close (a leak the baseline did not have: a verdict and
 * leak-rate change), passes close-order, has an infra-error with a screenshot
 * and a serial tail, and a skipped licensed target. Its NETSTAT text and
 * reason carry HTML, as a hostile or broken guest could print.
 */

export const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

const zeroStates = () => ({
  CLOSED: 0,
  LISTEN: 0,
  SYN_SENT: 0,
  SYN_RECEIVED: 0,
  ESTABLISHED: 0,
  FIN_WAIT_1: 0,
  FIN_WAIT_2: 0,
  CLOSE_WAIT: 0,
  CLOSING: 0,
  LAST_ACK: 0,
  TIME_WAIT: 0,
  DELETE_TCB: 0,
});

const netstatText = (rows: string[]) =>
  ['', 'Active Connections', '', '  Proto  Local Address          Foreign Address        State', ...rows, ''].join('\r\n');
const row = (port: number, state: string) => `  TCP    10.0.2.15:${port}        10.0.2.2:7000          ${state}`;

function leakingEntry(leaked: number, opened: number): ResultEntry {
  const heldRows = Array.from({ length: leaked }, (_, i) => row(1030 + i, 'CLOSE_WAIT'));
  const samples = Array.from({ length: 12 }, (_, i) => {
    const cycle = Math.min(opened, i * 10);
    const held = Math.min(leaked, cycle);
    return {
      atMs: 500 * (i + 1),
      phase: i < 10 ? ('cycles' as const) : ('settle' as const),
      cycle,
      states: held ? { CLOSE_WAIT: held } : {},
      total: held,
    };
  });
  return {
    target: 'win98',
    scenario: 'dup-close',
    verdict: 'fail',
    reason: `expected clean, observed leak: ${leaked} of ${opened} held; NETSTAT said ${HOSTILE}`,
    expected: 'clean',
    observed: 'leak',
    counts: {
      leaked,
      leakRate: leaked / opened,
      connectionsOpened: opened,
      cyclesPlanned: opened,
      cyclesRun: opened,
      tableExhausted: true,
    },
    evidence: {
      measuredAt: 'after-exit',
      tableSource: 'netstat',
      leaked,
      leakedAfterExit: leaked,
      leakedWhileRunning: null,
      leakThreshold: 1,
      connectionsOpened: opened,
      leakRate: leaked / opened,
      cyclesPlanned: opened,
      cyclesRun: opened,
      cycleFailures: [{ step: 'connect', error: 10055, count: 3 }],
      leakedStates: leaked ? { CLOSE_WAIT: leaked } : {},
      counts: { before: zeroStates(), after: { ...zeroStates(), CLOSE_WAIT: leaked } },
      timeWait: { rows: 0, distinctLocalPorts: 0 },
      finalConnect: { ok: false, error: 10055 },
      connectFailureCause: 'socket-table-full',
      tableExhausted: true,
      tableExhaustion: {
        cycle: opened - 2,
        cyclesPlanned: opened,
        step: 'connect',
        held: leaked,
        heldStates: leaked ? { CLOSE_WAIT: leaked } : {},
        heldInTable: leaked,
        maxConnections: 100,
      },
      peerRowsSeen: leaked,
      settings: { maxConnections: 100 },
      netstatExcerpt: ['  Proto  Local Address          Foreign Address        State', ...heldRows.slice(0, 3)].join('\n'),
    },
    netstat: {
      before: { raw: netstatText([`  TCP    0.0.0.0:139            0.0.0.0:0              LISTENING ${HOSTILE}`]) },
      after: { raw: netstatText(heldRows) },
    },
    settings: { os: 'win9x 4.10.2222', winsock: '2 (ws2_32.dll)', maxConnections: 100 },
    durationMs: 60_000,
    guest: { start: 'saved-state', id: 'abcdef012345', startMs: 900 },
    phases: {
      guestStart: 900,
      patch: 0,
      deploy: 1200,
      before: 800,
      cycles: 50_000,
      during: 0,
      settle: 4000,
      after: 900,
      verdict: 3,
      wall: 60_000,
      guestSide: 52_000,
      overhead: 8000,
    },
    socketSeries: {
      source: 'netstat',
      peer: '10.0.2.2:7000',
      samples: [
        { atMs: 0, phase: 'before', cycle: 0, states: {}, total: 0 },
        ...samples,
        { atMs: 7000, phase: 'after', cycle: opened, states: leaked ? { CLOSE_WAIT: leaked } : {}, total: leaked },
      ],
    },
  };
}

function cleanEntry(): ResultEntry {
  return {
    target: 'win98',
    scenario: 'close-order',
    verdict: 'pass',
    reason: 'clean as predicted by KB Q229658',
    expected: 'clean',
    observed: 'clean',
    counts: { leaked: 0, leakRate: 0, connectionsOpened: 40, cyclesPlanned: 40, cyclesRun: 40, tableExhausted: false },
    evidence: null,
    netstat: {
      before: { raw: netstatText([]) },
      during: { raw: netstatText([row(1100, 'TIME_WAIT')]) },
      after: { raw: netstatText([row(1100, 'TIME_WAIT')]) },
    },
    settings: { os: 'win9x 4.10.2222', winsock: '2 (ws2_32.dll)' },
    durationMs: 20_000,
    socketSeries: {
      source: 'netstat',
      peer: '10.0.2.2:7000',
      samples: Array.from({ length: 12 }, (_, i) => ({
        atMs: i * 400,
        phase: i === 0 ? ('before' as const) : i === 11 ? ('after' as const) : ('cycles' as const),
        cycle: Math.min(40, i * 4),
        states: i === 0 ? {} : { TIME_WAIT: Math.min(40, i * 4), ESTABLISHED: i < 11 ? 1 : 0 },
        total: i === 0 ? 0 : Math.min(40, i * 4) + (i < 11 ? 1 : 0),
      })).map((s) => ({ ...s, states: Object.fromEntries(Object.entries(s.states).filter(([, n]) => n > 0)) })),
    },
  };
}

const infraEntry = (): ResultEntry => ({
  target: 'win98',
  scenario: 'leak-after-exit',
  verdict: 'infra-error',
  reason: 'win98: the guest froze during leak-after-exit (QMP status paused) after 30 s of silence',
  counts: null,
  evidence: null,
  netstat: null,
  settings: {},
  durationMs: 31_000,
  artifacts: [
    { path: 'artifacts/win98/leak-after-exit/frozen.png', kind: 'screenshot', bytes: 0 },
    { path: 'artifacts/win98/leak-after-exit/frozen-serial.txt', kind: 'serial', bytes: 0 },
  ],
});

const skippedEntries: ResultEntry[] = ['dup-close', 'close-order', 'leak-after-exit'].map((scenario) => ({
  target: 'win95',
  scenario,
  verdict: 'skipped',
  reason: 'win95 has no disk image configured',
  fix: 'set targets.win95.image in retrolab.config.json',
  counts: null,
  evidence: null,
  netstat: null,
  settings: {},
  durationMs: 0,
}));

function run(runId: string, entries: ResultEntry[]): RunResults {
  return runResults.parse({
    schemaVersion: 1,
    runId,
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:05:00.000Z',
    host: { hostname: 'lab', platform: 'linux', release: '6.1', arch: 'x64', cpus: 2, memoryMb: 24000, node: 'v20' },
    retrolab: { version: '0.1.0', commit: null },
    totals: tallyRunTotals(entries),
    entries,
  });
}

/** The baseline: dup-close passed there with no leak. */
export function craftedBaseline(): RunResults {
  const passing: ResultEntry = {
    ...leakingEntry(0, 120),
    verdict: 'pass',
    observed: 'clean',
    reason: 'clean as predicted',
    counts: { leaked: 0, leakRate: 0, connectionsOpened: 120, cyclesPlanned: 120, cyclesRun: 120, tableExhausted: false },
  };
  return run('20261130-100000-base', [passing, cleanEntry(), infraEntry(), ...skippedEntries]);
}

/** The crafted run, compared with craftedBaseline() as `lab --baseline` stores it. */
export function craftedRun(): RunResults {
  const results = run('20261201-100000-crft', [leakingEntry(97, 120), cleanEntry(), infraEntry(), ...skippedEntries]);
  const comparison = compareWithBaseline(results, craftedBaseline());
  results.baseline = 'baseline/results.json';
  results.baselineChanges = comparison.changes;
  results.baselineWarnings = comparison.warnings;
  return results;
}

/** A 64×48 PNG (a gradient), as a frozen guest's screenshot would be. */
export function craftedPng(): Buffer {
  const width = 64;
  const height = 48;
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set([(i % width) * 4, Math.floor(i / width) * 5, 128], i * 3);
  return encodePng({ width, height, pixels });
}

/** Writes the crafted run's folder (results.json and its artifacts) under `root`; returns the run folder. */
export async function writeCraftedRun(root: string): Promise<string> {
  const results = craftedRun();
  const dir = join(root, results.runId);
  const artifacts = join(dir, 'artifacts', 'win98', 'leak-after-exit');
  await mkdir(artifacts, { recursive: true });
  const png = craftedPng();
  const serial = `Starting Windows 98...\r\n${HOSTILE}\r\nretrolab-agent 1.0 ready\r\n`;
  await writeFile(join(artifacts, 'frozen.png'), png);
  await writeFile(join(artifacts, 'frozen-serial.txt'), serial);
  for (const entry of results.entries)
    for (const ref of entry.artifacts ?? []) ref.bytes = ref.path.endsWith('.png') ? png.length : Buffer.byteLength(serial);
  await writeFile(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  return dir;
}
