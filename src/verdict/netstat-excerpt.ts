import type { SocketRow } from '../netstat/socket-table.ts';
import type { TableCapture } from './scenario-observation.ts';

/** Enough rows to show the pattern in a report without pasting a full table of a hundred sockets. */
export const EXCERPT_ROWS = 12;

/** The column header and the given rows as the guest printed them, with a count of the rows left out. */
export function netstatExcerpt(capture: TableCapture, rows: readonly SocketRow[]): string {
  const lines = capture.raw.split(/\r?\n|\r/);
  const header = lines.find((line) => /^\s*proto\s/i.test(line));
  const quoted = rows.slice(0, EXCERPT_ROWS).map((row) => lines[row.line - 1] ?? '');
  const rest = rows.length - quoted.length;
  return [...(header === undefined ? [] : [header]), ...quoted, ...(rest > 0 ? [`  … ${rest} more`] : [])]
    .map((line) => line.trimEnd())
    .join('\n');
}
