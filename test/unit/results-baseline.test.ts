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
    expect(compareWithBaseline(run, run).changes).toEqual([]);
    expect(compareWithBaseline(sampleRun('20261125-130000-ef01'), run).changes).toEqual([]);
  });

  it('reports a leaking run against a clean baseline (leak-control against plain)', () => {
    const baseline = sampleRun();
    // The same target and scenario, but this time the duplicates stayed open: what leak-control does.
    const leaking = observation({ snapshots: { before: snapshot([]), after: snapshot(rowsIn('CLOSE_WAIT', range(1030, 120))) } });
    const entry = resultEntryFrom(decideVerdict(leaking, { expect: 'clean', source: 'KB Q198663' }), {
      target: 'wine',
      scenario: 'dup-close',
      durationMs: 2000,
      observation: leaking,
    });
    const { changes, regressions, improvements } = compareWithBaseline(withEntry(baseline, 0, entry), baseline);
    expect(changes).toMatchObject([
      { kind: 'verdict', label: 'regression', target: 'wine', scenario: 'dup-close', from: 'pass', to: 'fail' },
      { kind: 'observed', label: 'regression', target: 'wine', scenario: 'dup-close', from: 'clean', to: 'leak' },
      { kind: 'leak-rate', label: 'regression', target: 'wine', scenario: 'dup-close', from: 0, to: 1 },
    ]);
    expect(changes.map(formatBaselineChange)).toEqual([
      'regression: wine dup-close: verdict pass -> fail',
      'regression: wine dup-close: observed clean -> leak',
      'regression: wine dup-close: leak rate 0% -> 100%',
    ]);
    expect(regressions).toHaveLength(3);
    expect(improvements).toEqual([]);
    // The same change the other way round is an improvement, not "a change" like any other.
    const back = compareWithBaseline(baseline, withEntry(baseline, 0, entry));
    expect(back.changes.map((change) => change.label)).toEqual(['improvement', 'improvement', 'improvement']);
    expect(back.regressions).toEqual([]);
  });

  it('reports a patched Win95 that stopped leaking even though both verdicts stand for themselves', () => {
    const baseline = sampleRun();
    const patched = cleanObservation();
    const entry = resultEntryFrom(decideVerdict(patched, { expect: 'unknown', source: 'KB Q198663' }), {
      target: 'win95',
      scenario: 'dup-close',
      durationMs: 90000,
      observation: patched,
    });
    const unknownBaseline = withEntry(baseline, 2, { ...baseline.entries[2]!, verdict: 'pass', expected: 'unknown' });
    const { changes } = compareWithBaseline(withEntry(baseline, 2, entry), unknownBaseline);
    expect(changes.map((change) => [change.kind, change.label])).toEqual([
      ['observed', 'improvement'],
      ['leak-rate', 'improvement'],
    ]);
  });

  it('ignores leak-rate noise within the tolerance and reports it beyond', () => {
    const baseline = sampleRun();
    const partly = leakedObservation();
    partly.snapshots.after = snapshot(rowsIn('CLOSE_WAIT', range(1030, 95)));
    partly.snapshots.during = partly.snapshots.after;
    const entry = resultEntryFrom(decideVerdict(partly, { expect: 'leak', source: 'KB Q198663' }), {
      target: 'win95',
      scenario: 'dup-close',
      durationMs: 1,
      observation: partly,
    });
    const current = withEntry(baseline, 2, entry);
    expect(compareWithBaseline(current, baseline).changes).toEqual([]);
    expect(compareWithBaseline(current, baseline, { leakRateTolerance: 0.01 }).changes).toMatchObject([
      { kind: 'leak-rate', label: 'improvement', from: 1, to: 0.95 },
    ]);
  });

  it('a subset run compares only what it ran; --baseline-strict counts what it left out as a regression', () => {
    const baseline = sampleRun();
    const current = { ...baseline, entries: baseline.entries.slice(1).concat({ ...baseline.entries[0]!, target: 'winnt4' }) };
    expect(compareWithBaseline(current, baseline).changes).toMatchObject([
      { kind: 'added', label: 'change', target: 'winnt4', scenario: 'dup-close', to: 'pass' },
    ]);
    expect(compareWithBaseline(current, baseline, { strict: true }).changes).toMatchObject([
      { kind: 'added', label: 'change', target: 'winnt4', scenario: 'dup-close', to: 'pass' },
      { kind: 'removed', label: 'regression', target: 'wine', scenario: 'dup-close', from: 'pass' },
    ]);
  });

  it('warns when the cycles differ, read from the entries even without stored settings', () => {
    const baseline = sampleRun();
    const entry = baseline.entries[0]!;
    const fewer = withEntry(baseline, 0, { ...entry, counts: entry.counts && { ...entry.counts, cyclesPlanned: 5 } });
    const { warnings } = compareWithBaseline(fewer, baseline);
    expect(warnings[0]).toMatch(/^cycles differ: wine dup-close ran 5 cycles, the baseline \d+/);
    expect(warnings[1]).toMatch(/no stored run settings/);
  });
});
