import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { resultEntry } from '../../src/model/run-results.ts';
import type { ScenarioName } from '../../src/model/scenario-catalog.ts';
import { runMatrix } from '../../src/scenarios/matrix-run.ts';
import { cyclesReported, MIN_SAMPLES } from '../../src/scenarios/socket-sampler.ts';
import { fakePreparedTarget } from '../support/fake-guest.ts';

// The socket series a scenario records, against the in-memory guest
// (test/support/fake-guest.ts): plain cycles end in TIME_WAIT, leak-control
// holds CLOSE_WAIT until released.

async function runOne(scenario: ScenarioName, cycles: number) {
  const log: string[] = [];
  const prepared = fakePreparedTarget({ log });
  const { entries } = await runMatrix({
    hosts: [{ name: 'local', docker: { endpoint: 'fake://' } as DockerClient, slots: 1 }],
    targets: ['wine'],
    scenarios: [scenario],
    cycles,
    prepare: () => Promise.resolve(prepared),
    run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 },
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
