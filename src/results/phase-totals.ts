import { PHASE_NAMES, type PhaseName, type RunResults } from '../model/run-results.ts';

export interface PhaseTotals {
  target: string;
  scenarios: number;
  phases: Record<PhaseName, number>;
  wall: number;
  guestSide: number;
  overhead: number;
}

/** Sums every entry's phase times per target (entries without times, such as skipped ones, add nothing). */
export function phaseTotals(results: RunResults): PhaseTotals[] {
  const byTarget = new Map<string, PhaseTotals>();
  for (const entry of results.entries) {
    if (!entry.phases) continue;
    let totals = byTarget.get(entry.target);
    if (!totals) {
      totals = {
        target: entry.target,
        scenarios: 0,
        phases: Object.fromEntries(PHASE_NAMES.map((name) => [name, 0])) as Record<PhaseName, number>,
        wall: 0,
        guestSide: 0,
        overhead: 0,
      };
      byTarget.set(entry.target, totals);
    }
    totals.scenarios += 1;
    for (const name of PHASE_NAMES) totals.phases[name] += entry.phases[name];
    totals.wall += entry.phases.wall;
    totals.guestSide += entry.phases.guestSide;
    totals.overhead += entry.phases.overhead;
  }
  return [...byTarget.values()];
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/**
 * The totals as a small table, seconds per phase and target, for the end of
 * `retrolab lab`: where the run's time went, and how much of it was the
 * guest's own work (guest) against everything around it (overhead).
 */
export function formatPhaseTotals(results: RunResults): string {
  const totals = phaseTotals(results);
  if (totals.length === 0) return '';
  const columns = [...PHASE_NAMES, 'wall', 'guest', 'overhead'];
  const rows = totals.map((t) => [
    `${t.target} (${t.scenarios})`,
    ...PHASE_NAMES.map((name) => seconds(t.phases[name])),
    seconds(t.wall),
    seconds(t.guestSide),
    seconds(t.overhead),
  ]);
  const header = ['time per phase, s', ...columns];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
