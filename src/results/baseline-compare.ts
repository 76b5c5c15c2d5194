import type { BaselineChange, ResultEntry, RunResults, RunSettings } from '../model/run-results.ts';

export type { BaselineChange };

/** Leak rates are shares of the connections opened (0..1); a tenth absorbs a few sockets of noise in a run of dozens of cycles. */
export const DEFAULT_LEAK_RATE_TOLERANCE = 0.1;

export interface BaselineComparison {
  /** Settings that differ, so the two runs may not measure the same thing; printed before the changes. */
  warnings: string[];
  changes: BaselineChange[];
  regressions: BaselineChange[];
  improvements: BaselineChange[];
}

/** Better is higher: a verdict that passes beats one that fails, which beats one the lab could not decide. */
const VERDICT_RANK: Record<ResultEntry['verdict'], number | null> = { pass: 2, fail: 1, 'infra-error': 0, skipped: null };
/** For the platform under test, fewer held sockets is better, whatever the expectation says. */
const OBSERVED_RANK: Record<NonNullable<ResultEntry['observed']>, number> = { clean: 2, 'partial-leak': 1, leak: 0 };

function direction(from: number | null | undefined, to: number | null | undefined): BaselineChange['label'] {
  if (from === null || from === undefined || to === null || to === undefined || from === to) return 'change';
  return to > from ? 'improvement' : 'regression';
}

const key = (entry: { target: string; scenario: string }) => `${entry.target}\u0000${entry.scenario}`;

/**
 * Every difference between a run and its baseline, per target × scenario, each
 * labelled: a verdict or observed behaviour that got worse (pass → fail, clean
 * → leak), a leak rate up by more than the tolerance, or — with `strict` — an
 * entry of the baseline this run left out, is a regression; the reverse is an
 * improvement. A subset run compares only what it ran unless `strict`.
 */
export function compareWithBaseline(
  current: RunResults,
  baseline: RunResults,
  options: { leakRateTolerance?: number; strict?: boolean } = {},
): BaselineComparison {
  const tolerance = options.leakRateTolerance ?? DEFAULT_LEAK_RATE_TOLERANCE;
  const before = new Map(baseline.entries.map((entry) => [key(entry), entry]));
  const now = new Set(current.entries.map(key));
  const changes: BaselineChange[] = [];
  const push = (change: Omit<BaselineChange, 'text'>) => changes.push({ ...change, text: describe(change) });
  for (const entry of current.entries) {
    const { target, scenario } = entry;
    const old = before.get(key(entry));
    if (old === undefined) {
      push({ target, scenario, kind: 'added', label: 'change', from: null, to: entry.verdict });
      continue;
    }
    if (old.verdict !== entry.verdict) {
      push({ target, scenario, kind: 'verdict', label: direction(VERDICT_RANK[old.verdict], VERDICT_RANK[entry.verdict]), from: old.verdict, to: entry.verdict });
    }
    if (old.observed !== undefined && entry.observed !== undefined && old.observed !== entry.observed) {
      push({ target, scenario, kind: 'observed', label: direction(OBSERVED_RANK[old.observed], OBSERVED_RANK[entry.observed]), from: old.observed, to: entry.observed });
    }
    if (old.counts !== null && entry.counts !== null) {
      const delta = entry.counts.leakRate - old.counts.leakRate;
      if (Math.abs(delta) > tolerance) {
        push({ target, scenario, kind: 'leak-rate', label: delta > 0 ? 'regression' : 'improvement', from: old.counts.leakRate, to: entry.counts.leakRate });
      }
    }
  }
  if (options.strict) {
    for (const entry of baseline.entries) {
      if (!now.has(key(entry))) push({ target: entry.target, scenario: entry.scenario, kind: 'removed', label: 'regression', from: entry.verdict, to: null });
    }
  }
  return {
    warnings: settingsWarnings(current, baseline),
    changes,
    regressions: changes.filter((change) => change.label === 'regression'),
    improvements: changes.filter((change) => change.label === 'improvement'),
  };
}

function describe(change: Omit<BaselineChange, 'text'>): string {
  const where = `${change.target} ${change.scenario}`;
  const percent = (rate: BaselineChange['from']) => (typeof rate === 'number' ? `${Math.round(rate * 100)}%` : String(rate));
  const label = change.label === 'change' ? '' : `${change.label}: `;
  switch (change.kind) {
    case 'verdict':
      return `${label}${where}: verdict ${change.from} -> ${change.to}`;
    case 'observed':
      return `${label}${where}: observed ${change.from} -> ${change.to}`;
    case 'leak-rate':
      return `${label}${where}: leak rate ${percent(change.from)} -> ${percent(change.to)}`;
    case 'added':
      return `${label}${where}: not in the baseline (now ${change.to})`;
    case 'removed':
      return `${label}${where}: in the baseline (${change.from}), not run now (--baseline-strict)`;
  }
}

/** The formatted line of a change (kept for callers that print one). */
export function formatBaselineChange(change: BaselineChange): string {
  return change.text;
}

/** Cycles planned per target × scenario, from the entries (older baselines have no stored settings). */
function plannedCycles(results: RunResults): Map<string, number> {
  return new Map(results.entries.filter((entry) => entry.counts !== null).map((entry) => [key(entry), entry.counts?.cyclesPlanned ?? 0]));
}

/**
 * What makes the two runs measure different things: cycles, the scenarios
 * run, the patch, the compiler. Read from the stored settings, and for cycles
 * also from the entries, so an older baseline without settings is still checked.
 */
export function settingsWarnings(current: RunResults, baseline: RunResults): string[] {
  const warnings: string[] = [];
  const now = current.settings;
  const then = baseline.settings;
  const cyclesNow = plannedCycles(current);
  const cyclesThen = plannedCycles(baseline);
  const differing = [...cyclesNow].filter(([entryKey, cycles]) => cyclesThen.has(entryKey) && cyclesThen.get(entryKey) !== cycles);
  if (differing.length > 0) {
    const [entryKey, cycles] = differing[0]!;
    const where = entryKey.replace('\u0000', ' ');
    warnings.push(
      `cycles differ: ${where} ran ${cycles} cycles, the baseline ${cyclesThen.get(entryKey)}${differing.length > 1 ? ` (and ${differing.length - 1} more entries)` : ''}; leak counts and rates are not comparable`,
    );
  } else if (now && then && now.cycles !== then.cycles) {
    warnings.push(`cycles differ: --cycles ${now.cycles ?? "(each scenario's own)"} now, ${then.cycles ?? "(each scenario's own)"} in the baseline`);
  }
  if (!then) {
    warnings.push('the baseline has no stored run settings (an older file): patch and toolchain cannot be compared');
    return warnings;
  }
  if (!now) return warnings;
  const scenariosOnlyThen = then.scenarios.filter((scenario) => !now.scenarios.includes(scenario));
  const scenariosOnlyNow = now.scenarios.filter((scenario) => !then.scenarios.includes(scenario));
  if (scenariosOnlyThen.length > 0 || scenariosOnlyNow.length > 0) {
    warnings.push(
      `scenarios differ: ${[scenariosOnlyNow.length > 0 ? `only now: ${scenariosOnlyNow.join(', ')}` : '', scenariosOnlyThen.length > 0 ? `only in the baseline: ${scenariosOnlyThen.join(', ')}` : ''].filter(Boolean).join('; ')}`,
    );
  }
  const patch = (settings: RunSettings) => (settings.patch === null ? 'no patch' : `patch ${settings.patch.dir}${settings.patch.hash ? ` (${settings.patch.hash.slice(0, 12)})` : ''}${settings.patch.installCommand ? ` installed with "${settings.patch.installCommand}"` : ''}`);
  if (patch(now) !== patch(then)) warnings.push(`patch differs: ${patch(now)} now, ${patch(then)} in the baseline`);
  const used = (settings: RunSettings) => (settings.toolchain.used.length > 0 ? settings.toolchain.used.join('+') : (settings.toolchain.asked ?? 'auto'));
  if (used(now) !== used(then) && now.toolchain.used.length > 0 && then.toolchain.used.length > 0) {
    warnings.push(`toolchain differs: guest programs built with ${used(now)} now, ${used(then)} in the baseline`);
  }
  if (now.reuseGuest !== then.reuseGuest) warnings.push(`guests differ: ${now.reuseGuest ? 'reused' : 'fresh per scenario'} now, ${then.reuseGuest ? 'reused' : 'fresh per scenario'} in the baseline`);
  return warnings;
}
