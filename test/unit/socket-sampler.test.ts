import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { resultEntry } from '../../src/model/run-results.ts';
import type { ScenarioName } from '../../src/model/scenario-catalog.ts';
import { runMatrix } from '../../src/scenarios/matrix-run.ts';
import { cyclesReported, MIN_SAMPLES, SAMPLE_SHARE, SocketSampler } from '../../src/scenarios/socket-sampler.ts';
import type { TargetHandle } from '../../src/targets/target-handle.ts';
import { fakePreparedTarget } from '../support/fake-guest.ts';

// The socket series a scenario records, against the in-memory guest
// (test/support/fake-guest.ts): plain cycles end in TIME_WAIT, leak-control
// holds CLOSE_WAIT until released.

async function runOne(
  scenario: ScenarioName,
  cycles: number,
  slow: { timeWaitMs: number; sampleLookMs: number; settleLooksMs?: number } | undefined = undefined,
) {
  const log: string[] = [];
  const prepared = fakePreparedTarget({ log, ...(slow ? { timeWaitMs: slow.timeWaitMs, sampleLookMs: slow.sampleLookMs } : {}) });
  const { entries } = await runMatrix({
    hosts: [{ name: 'local', docker: { endpoint: 'fake://', ping: () => Promise.resolve() } as unknown as DockerClient, slots: 1 }],
    targets: ['wine'],
    scenarios: [scenario],
    cycles,
    prepare: () => Promise.resolve(prepared),
    run: {
      settleMs: 0,
      pollMs: 1,
      releaseAckMs: 1000,
      programTimeoutMs: 30_000,
      ...(slow?.settleLooksMs === undefined ? {} : { settleLooksMs: slow.settleLooksMs }),
    },
  });
  return { entry: resultEntry.parse(entries[0]), log };
}

describe('socket series', () => {
  it('dup-close: at least MIN_SAMPLES looks, before empty, after every cycle’s connection in TIME_WAIT, schema-valid', async () => {
    const { entry, log } = await runOne('dup-close', 12);
    expect(entry.verdict, entry.reason).toBe('pass');
    const series = entry.socketSeries!;
    expect(series.source).toBe('netstat');
    expect(series.peer).toBe('127.0.0.1:7000');
    expect(series.error).toBeUndefined();
    const taken = series.samples.filter((s) => s.phase === 'cycles' || s.phase === 'settle');
    expect(taken.length).toBeGreaterThanOrEqual(MIN_SAMPLES);
    expect(log.filter((line) => line === 'g1: netstat sample')).toHaveLength(taken.length);
    expect(series.samples[0]).toMatchObject({ phase: 'before', cycle: 0, total: 0, states: {} });
    // 12 cycles and the final connect, all closed cleanly.
    expect(series.samples.at(-1)).toMatchObject({ phase: 'after', cycle: 12, total: 13, states: { TIME_WAIT: 13 } });
    const times = series.samples.map((s) => s.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('slow looks do not push "after" past the TIME_WAIT rows a clean run is shown by; the looks still missing come after it', async () => {
    // A loaded TCG guest: a look takes 40 ms here, a TIME_WAIT row lives 250 ms.
    // Ten looks before "after" (the old settle) took 400 ms: "after" found an
    // empty table and a clean run became an infra-error.
    const { entry } = await runOne('dup-close', 5, { timeWaitMs: 250, sampleLookMs: 40, settleLooksMs: 60 });
    expect(entry.verdict, entry.reason).toBe('pass');
    const samples = entry.socketSeries!.samples;
    const after = samples.findIndex((s) => s.phase === 'after');
    expect(samples[after]).toMatchObject({ phase: 'after', states: { TIME_WAIT: 6 } });
    expect(samples.slice(after + 1).length).toBeGreaterThan(0);
    expect(samples.slice(after + 1).every((s) => s.phase === 'settle')).toBe(true);
    expect(samples.filter((s) => s.phase === 'cycles' || s.phase === 'settle').length).toBeGreaterThanOrEqual(MIN_SAMPLES);
  });

  it('the same slow guest with the old settle (looks until MIN_SAMPLES before "after") loses the rows: the case above can fail', async () => {
    const { entry } = await runOne('dup-close', 5, { timeWaitMs: 250, sampleLookMs: 40, settleLooksMs: 60_000 });
    expect(entry.verdict).toBe('infra-error');
    expect(entry.reason).toMatch(/no row to the peer/);
  });

  it('leak-control: the "during" table is in the series with the held connections in CLOSE_WAIT', async () => {
    const { entry } = await runOne('leak-control', 5);
    const during = entry.socketSeries!.samples.find((s) => s.phase === 'cycles' && s.states.CLOSE_WAIT !== undefined);
    expect(during).toMatchObject({ cycle: 5, states: { CLOSE_WAIT: 5 } });
    expect(entry.socketSeries!.samples.at(-1)?.states.CLOSE_WAIT).toBeUndefined();
  });

  it('counts finished cycles from event=cycle lines of every app, not other events', () => {
    const text = [
      'event=start role=launcher app=0 prog=dupclose',
      'event=connect role=parent app=1 cycle=1 ok=1 err=0 call=connect ms=0 local_port=1',
      'event=cycle role=parent app=1 cycle=1 ok=1 ms=3',
      'event=cycle role=parent app=2 cycle=1 ok=0 ms=3',
      'event=child-exit role=parent app=2 cycle=1 ok=1 code=0',
    ].join('\r\n');
    expect(cyclesReported(text)).toBe(2);
    expect(cyclesReported('')).toBe(0);
  });
});

describe('SocketSampler pacing (--sample-share)', () => {
  const NETSTAT = [
    '',
    'Active Connections',
    '',
    '  Proto  Local Address          Foreign Address        State',
    '  TCP    10.0.2.15:1025         10.0.2.2:7000          TIME_WAIT',
    '',
  ].join('\r\n');
  /** A guest whose every look takes `lookMs` of the (fake) clock. */
  function sampler(share: number | undefined, lookMs: number) {
    const agent = {
      netstat: () => {
        vi.advanceTimersByTime(lookMs);
        return Promise.resolve(NETSTAT);
      },
    };
    const handle = { target: 'win98', agent } as unknown as TargetHandle;
    return new SocketSampler(handle, {
      family: { snapshot: { netstatCommand: 'netstat -an', capture: 'agent' } },
      peer: { addr: '10.0.2.2', port: 7000 },
      source: 'netstat',
      ...(share === undefined ? {} : { share }),
    });
  }
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it(`by default (${SAMPLE_SHARE}) a look that took t is followed by a pause of t·(1 − share)/share before the next is due`, async () => {
    const s = sampler(undefined, 500);
    expect(s.due).toBe(true);
    await s.sample('cycles', 1);
    expect(s.series().samples[0]).toMatchObject({ phase: 'cycles', total: 1, states: { TIME_WAIT: 1 } });
    // Crafted: the old loop looked again at once, so looks took all the guest's time between the program's reads.
    expect(s.due).toBe(false);
    vi.advanceTimersByTime(1999);
    expect(s.due).toBe(false);
    vi.advanceTimersByTime(1);
    expect(s.due).toBe(true);
  });

  it('share 1 looks back to back; share 0 never while cycling (the settle still takes its looks)', async () => {
    const back = sampler(1, 500);
    await back.sample('cycles', 1);
    expect(back.due).toBe(true);
    const none = sampler(0, 500);
    expect(none.due).toBe(false);
    await none.sample('settle', 3);
    expect(none.taken).toBe(1);
  });

  it('refuses a share outside 0..1, naming it', () => {
    expect(() => sampler(1.5, 1)).toThrow(/share 1.5 is not between 0 and 1/);
  });
});
