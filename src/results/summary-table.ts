import type { ResultEntry, RunResults } from '../model/run-results.ts';

const STATUS_LABEL: Record<ResultEntry['verdict'], string> = {
  pass: 'PASS',
  fail: 'FAIL',
  'infra-error': 'ERROR',
  skipped: 'SKIP',
};

/**
 * The terminal summary: one row per target × scenario with the status, the
 * leaked/opened connections and the reason's first clause cut to fit the width, then a
 * totals line. A target skipped for one reason (no image configured) gets one
 * row for all its scenarios: seven identical SKIP rows per licensed target
 * buried the results that ran. Plain text, so it reads the same in a CI log.
 */
export function formatSummaryTable(results: RunResults, options: { width?: number } = {}): string {
  const width = Math.max(60, options.width ?? 120);
  const header = ['target', 'scenario', 'status', 'leaked', 'reason'];
  const rows = collapseSkippedTargets(results.entries).map(({ entry, scenarios }) => [
    entry.target,
    scenarios === 1 ? entry.scenario : `(${scenarios} scenarios)`,
    STATUS_LABEL[entry.verdict],
    entry.counts === null ? '-' : `${entry.counts.leaked}/${entry.counts.connectionsOpened}`,
    entry.reason,
  ]);
  const fixed = [0, 1, 2, 3].map((column) => Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)));
  const reasonWidth = Math.max(10, width - fixed.reduce((sum, columnWidth) => sum + columnWidth + 2, 0));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column < 4 ? cell.padEnd(fixed[column] ?? 0) : shorten(cell.split('; ')[0] ?? cell, reasonWidth)))
      .join('  ')
      .trimEnd();
  const count = (verdict: ResultEntry['verdict']) => results.entries.filter((entry) => entry.verdict === verdict).length;
  return [
    line(header),
    line(header.map((cell, column) => '-'.repeat(column < 4 ? (fixed[column] ?? cell.length) : Math.min(reasonWidth, 40)))),
    ...rows.map(line),
    '',
    `${results.entries.length} scenarios: ${count('pass')} passed, ${count('fail')} failed, ${count('infra-error')} infrastructure errors, ${count('skipped')} skipped (run ${results.runId})`,
  ].join('\n');
}

/** Skipped entries of one target with the same reason become one row, at the place of the first. */
function collapseSkippedTargets(entries: readonly ResultEntry[]): { entry: ResultEntry; scenarios: number }[] {
  const rows: { entry: ResultEntry; scenarios: number }[] = [];
  const skippedRow = new Map<string, { entry: ResultEntry; scenarios: number }>();
  for (const entry of entries) {
    if (entry.verdict !== 'skipped') {
      rows.push({ entry, scenarios: 1 });
      continue;
    }
    const key = `${entry.target}\u0000${entry.reason}`;
    const row = skippedRow.get(key);
    if (row) {
      row.scenarios += 1;
      continue;
    }
    const fresh = { entry, scenarios: 1 };
    skippedRow.set(key, fresh);
    rows.push(fresh);
  }
  return rows;
}

function shorten(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}
