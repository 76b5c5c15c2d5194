import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import type { ScenarioName } from '../../src/model/scenario-catalog.ts';
import type { ProgressEvent, ProgressUpdate } from '../../src/report/progress.ts';
import { runMatrix } from '../../src/scenarios/matrix-run.ts';
import { fakePreparedTarget } from '../support/fake-guest.ts';

// What a scenario reports while it runs, against the in-memory fake guest
// (test/support/fake-guest.ts): the cycles the program's output says are
// done, and the hold's countdown while the runner takes its snapshot.

const FAKE_DOCKER = { endpoint: 'fake://', ping: () => Promise.resolve() } as unknown as DockerClient;

async function progressOf(scenario: ScenarioName, cycles: number): Promise<ProgressUpdate[]> {
  const events: ProgressEvent[] = [];
  const prepared = fakePreparedTarget({ log: [], execGuestMs: 0 });
  const { entries } = await runMatrix({
    hosts: [{ name: 'local', docker: FAKE_DOCKER, slots: 1 }],
    targets: ['wine'],
    scenarios: [scenario],
    cycles,
    prepare: () => Promise.resolve(prepared),
    run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 },
    onProgress: (event) => events.push(event),
  });
  expect(entries.map((entry) => entry.verdict)).toEqual(['pass']);
  return events.filter((event): event is ProgressUpdate => event.kind === 'progress');
}

describe('progress while a scenario runs', () => {
  it('counts the cycles the program reported, up to the plan, and ends the count when the program is done', async () => {
    const updates = (await progressOf('dup-close', 7)).filter((update) => update.what === 'cycles');
    expect(updates[0]).toMatchObject({ scope: 'wine dup-close', done: 0, total: 7, end: false });
    // The count ends once, with every cycle the output reported (a count ended before the program finished would say 0).
    expect(updates.filter((update) => update.end)).toHaveLength(1);
    expect(updates.at(-1)).toMatchObject({ done: 7, total: 7, end: true });
  });

  it('counts down to the hold bound while NETSTAT is taken during a hold, and ends the countdown once released', async () => {
    const updates = (await progressOf('leak-control', 5)).filter((update) => update.countdown);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates[0]).toMatchObject({ scope: 'wine leak-control', what: 'holding 5 socket(s) for NETSTAT during', limitMs: 120_000 });
    expect(updates.at(-1)?.end).toBe(true);
  });
});
