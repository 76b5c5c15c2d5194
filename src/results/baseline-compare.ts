import type { ResultEntry, RunResults } from '../model/run-results.ts';

/**
 * One difference between a run and its baseline, per target × scenario:
 * the verdict changed, the observed behaviour changed (this also catches
 * scenarios with an `unknown` expectation, whose verdict never changes), the
 * leak rate moved by more than the tolerance, or the entry is new or gone.
 */
export type BaselineChange =
  | { kind: 'verdict-changed'; target: string; scenario: string; from: ResultEntry['verdict']; to: ResultEntry['verdict'] }
  | { kind: 'observed-changed'; target: string; scenario: string; from: ResultEntry['observed'] | null; to: ResultEntry['observed'] | null }
  | { kind: 'leak-rate-changed'; target: string; scenario: string; from: number; to: number; delta: number }
  | { kind: 'added'; target: string; scenario: string; verdict: ResultEntry['verdict'] }
  | { kind: 'removed'; target: string; scenario: string; verdict: ResultEntry['verdict'] };

/** Leak rates are shares of the connections opened (0..1); a tenth absorbs a few sockets of noise in a run of dozens of cycles. */
export const DEFAULT_LEAK_RATE_TOLERANCE = 0.1;

export function compareWithBaseline(
  current: RunResults,
  baseline: RunResults,
  options: { leakRateTolerance?: number } = {},
): BaselineChange[] {
  const tolerance = options.leakRateTolerance ?? DEFAULT_LEAK_RATE_TOLERANCE;
  const key = (entry: ResultEntry) => `${entry.target}\u0000${entry.scenario}`;
  const before = new Map(baseline.entries.map((entry) => [key(entry), entry]));
  const now = new Map(current.entries.map((entry) => [key(entry), entry]));
  const changes: BaselineChange[] = [];
  for (const entry of current.entries) {
    const { target, scenario } = entry;
    const old = before.get(key(entry));
    if (old === undefined) {
      changes.push({ kind: 'added', target, scenario, verdict: entry.verdict });
      continue;
    }
    if (old.verdict !== entry.verdict) changes.push({ kind: 'verdict-changed', target, scenario, from: old.verdict, to: entry.verdict });
    if ((old.observed ?? null) !== (entry.observed ?? null)) {
      changes.push({ kind: 'observed-changed', target, scenario, from: old.observed ?? null, to: entry.observed ?? null });
    }
    if (old.counts !== null && entry.counts !== null) {
      const delta = entry.counts.leakRate - old.counts.leakRate;
      if (Math.abs(delta) > tolerance) {
        changes.push({ kind: 'leak-rate-changed', target, scenario, from: old.counts.leakRate, to: entry.counts.leakRate, delta });
      }
    }
  }
  for (const entry of baseline.entries) {
    if (!now.has(key(entry))) changes.push({ kind: 'removed', target: entry.target, scenario: entry.scenario, verdict: entry.verdict });
  }
  return changes;
}

export function formatBaselineChange(change: BaselineChange): string {
  const where = `${change.target} ${change.scenario}`;
  const percent = (rate: number) => `${Math.round(rate * 100)}%`;
  switch (change.kind) {
    case 'verdict-changed':
      return `${where}: verdict ${change.from} -> ${change.to}`;
    case 'observed-changed':
      return `${where}: observed ${change.from ?? 'nothing'} -> ${change.to ?? 'nothing'}`;
    case 'leak-rate-changed':
      return `${where}: leak rate ${percent(change.from)} -> ${percent(change.to)}`;
    case 'added':
      return `${where}: new (${change.verdict})`;
    case 'removed':
      return `${where}: not in this run (was ${change.verdict})`;
  }
}
