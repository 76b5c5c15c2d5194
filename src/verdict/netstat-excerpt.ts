import { formatEndpoint, type SocketRow } from '../model/socket-table.ts';
import type { Snapshot, TableCapture } from '../model/scenario-observation.ts';

/** Enough rows to show the pattern in a report without pasting a full table of a hundred sockets. */
export const EXCERPT_ROWS = 12;

/**
 * The rows that make the case, quoted as the guest printed them: from NETSTAT
 * with its column header, and from tcptab for rows NETSTAT does not print
 * (Wine's omits FIN_WAIT_2, for one). Cut to EXCERPT_ROWS with a count of the rest.
 */
export function netstatExcerpt(snapshot: Snapshot, rows: readonly SocketRow[], from: TableCapture): string {
  const netstatLines = snapshot.netstat.raw.split(/\r?\n|\r/);
  const fromLines = from.raw.split(/\r?\n|\r/);
  const key = (row: SocketRow) => `${formatEndpoint(row.local)}>${formatEndpoint(row.foreign)}:${row.state ?? ''}`;
  const inNetstat = new Map(snapshot.netstat.table.rows.map((row) => [key(row), row]));
  const quoted = rows.slice(0, EXCERPT_ROWS).map((row) => {
    const printed = from === snapshot.netstat ? row : inNetstat.get(key(row));
    return printed === undefined ? (fromLines[row.line - 1] ?? '') : (netstatLines[printed.line - 1] ?? '');
  });
  const header = netstatLines.find((line) => /^\s*proto\s/i.test(line));
  const rest = rows.length - quoted.length;
  return [...(header === undefined ? [] : [header]), ...quoted, ...(rest > 0 ? [`  … ${rest} more`] : [])]
    .map((line) => line.trimEnd())
    .join('\n');
}
