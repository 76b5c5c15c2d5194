import { describe, expect, it } from 'vitest';
import { compareWithBaseline, formatBaselineChange } from '../../src/results/baseline-compare.ts';
import { resultEntryFrom, type RunResults } from '../../src/model/run-results.ts';
import { decideVerdict } from '../../src/verdict/verdict.ts';
import { cleanObservation, leakedObservation, observation, range, rowsIn, snapshot } from '../fixtures/netstat/observations.ts';
import { sampleRun } from '../fixtures/netstat/runs.ts';

function withEntry(run: RunResults, index: number, entry: RunResults['entries'][number]): RunResults {
  return { ...run, entries: run.entries.map((old, at) => (at === index ? entry : old)) };
}

describe('compareWithBaseline', () => {
  it('finds no change between a run and itself', () => {
    const run = sampleRun();
    expect(compareWithBaseline(run, run)).toEqual([]);
    expect(compareWithBaseline(sampleRun('20261125-130000-ef01'), run)).toEqual([]);
  });

  it('reports a leaking run against a clean baseline (leak-control against plain)', () => {
    const baseline = sampleRun();
    // The same target and scenario, but this time the duplicates stayed open: what leak-control does.
    const leaking = observation({ snapshots: { before: snapshot([]), after: snapshot(rowsIn('CLOSE_WAIT', range(1030, 120))) } });
    const entry = resultEntryFrom(decideVerdict(leaking, { expect: 'clean', source: 'KB Q198663' }), { target: 'wine', scenario: 'dup-close', durationMs: 2000, observation: leaking });
    const changes = compareWithBaseline(withEntry(baseline, 0, entry), baseline);
    expect(changes).toEqual([
      { kind: 'verdict-changed', target: 'wine', scenario: 'dup-close', from: 'pass', to: 'fail' },
      { kind: 'observed-changed', target: 'wine', scenario: 'dup-close', from: 'clean', to: 'leak' },
      { kind: 'leak-rate-changed', target: 'wine', scenario: 'dup-close', from: 0, to: 1, delta: 1 },
    ]);
    expect(changes.map(formatBaselineChange)).toEqual([
      'wine dup-close: verdict pass -> fail',
      'wine dup-close: observed clean -> leak',
      'wine dup-close: leak rate 0% -> 100%',
    ]);
  });

  it('reports a patched Win95 that stopped leaking even though both verdicts stand for themselves', () => {
    const baseline = sampleRun();
    const patched = cleanObservation();
    const entry = resultEntryFrom(decideVerdict(patched, { expect: 'unknown', source: 'KB Q198663' }), { target: 'win95', scenario: 'dup-close', durationMs: 90000, observation: patched });
    const unknownBaseline = withEntry(baseline, 2, { ...baseline.entries[2]!, verdict: 'pass', expected: 'unknown' });
    const kinds = compareWithBaseline(withEntry(baseline, 2, entry), unknownBaseline).map((change) => change.kind);
    expect(kinds).toEqual(['observed-changed', 'leak-rate-changed']);
  });

  it('ignores leak-rate noise within the tolerance and reports it beyond', () => {
    const baseline = sampleRun();
    const partly = leakedObservation();
    partly.snapshots.after = snapshot(rowsIn('CLOSE_WAIT', range(1030, 95)));
    partly.snapshots.during = partly.snapshots.after;
    const entry = resultEntryFrom(decideVerdict(partly, { expect: 'leak', source: 'KB Q198663' }), { target: 'win95', scenario: 'dup-close', durationMs: 1, observation: partly });
    const current = withEntry(baseline, 2, entry);
    expect(compareWithBaseline(current, baseline)).toEqual([]);
    expect(compareWithBaseline(current, baseline, { leakRateTolerance: 0.01 })).toMatchObject([{ kind: 'leak-rate-changed', from: 1, to: 0.95 }]);
  });

  it('reports entries added and removed', () => {
    const baseline = sampleRun();
    const current = { ...baseline, entries: baseline.entries.slice(1).concat({ ...baseline.entries[0]!, target: 'winnt4' }) };
    expect(compareWithBaseline(current, baseline)).toEqual([
      { kind: 'added', target: 'winnt4', scenario: 'dup-close', verdict: 'pass' },
      { kind: 'removed', target: 'wine', scenario: 'dup-close', verdict: 'pass' },
    ]);
  });
});
