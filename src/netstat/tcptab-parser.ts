import { GuestOutputError } from '../dupclose/errors.ts';
import { parseGuestEventLines, type GuestEventLine } from '../dupclose/guest-event-line.ts';
import { SocketTableParseError, TcptabError } from './errors.ts';
import { parseEndpoint } from './netstat-parser.ts';
import { socketTable, type SocketRow, type SocketTable } from '../model/socket-table.ts';
import { normalizeTcpState, tcpStateFromMib } from '../model/tcp-state.ts';

/**
 * Reads the output of the lab's `tcptab` (guest-apps/tcptab: iphlpapi's
 * GetTcpTable as event lines): `event=row state=NAME state_code=N local=A:P
 * remote=A:P` per connection, then `event=count rows=N`. The count line is
 * required and must match, so a table cut short on the serial line is an
 * error rather than a smaller table.
 */
export function parseTcptab(text: string, options: { origin?: string } = {}): SocketTable {
  const lines = text.split(/\r?\n|\r/);
  const fail = (line: number, problem: string): never => {
    throw new SocketTableParseError('tcptab', line, lines[line - 1] ?? '', problem, options.origin);
  };
  let events: GuestEventLine[];
  try {
    events = parseGuestEventLines(text, 'tcptab', options.origin);
  } catch (error) {
    if (error instanceof GuestOutputError) return fail(error.line, error.problem);
    throw error;
  }

  const rows: SocketRow[] = [];
  let count: number | undefined;
  for (const { event, fields, line } of events) {
    if (count !== undefined) fail(line, 'nothing may follow event=count');
    switch (event) {
      case 'row':
        rows.push(readRow(fields, line, fail));
        break;
      case 'count':
        count = /^\d+$/.test(fields.rows ?? '') ? Number(fields.rows) : fail(line, 'event=count needs rows=N');
        if (count !== rows.length) fail(line, `event=count says ${count} rows but ${rows.length} were printed`);
        break;
      case 'unavailable':
        throw new TcptabError(
          'unavailable',
          `${fields.dll ?? 'iphlpapi.dll'} ${fields.function ?? 'GetTcpTable'}`,
          numberOrNull(fields.err),
        );
      case 'error':
        throw new TcptabError('failed', fields.call ?? 'GetTcpTable', numberOrNull(fields.err));
      default:
        fail(line, `unknown event ${JSON.stringify(event)}`);
    }
  }
  if (count === undefined) {
    const last = lines.findLastIndex((line) => line.trim() !== '');
    fail(last === -1 ? 1 : last + 1, 'the output ends without event=count (cut short?)');
  }
  return socketTable('tcptab', rows);
}

function readRow(fields: Record<string, string>, line: number, fail: (line: number, problem: string) => never): SocketRow {
  const code = /^\d+$/.test(fields.state_code ?? '') ? tcpStateFromMib(Number(fields.state_code)) : undefined;
  const state =
    code ??
    normalizeTcpState(fields.state ?? '') ??
    fail(line, `unknown TCP state ${JSON.stringify(fields.state)} (state_code=${fields.state_code ?? 'missing'})`);
  const local = parseEndpoint(fields.local ?? '', false) ?? fail(line, `local=${JSON.stringify(fields.local)} is not ADDR:PORT`);
  const foreign = parseEndpoint(fields.remote ?? '', false) ?? fail(line, `remote=${JSON.stringify(fields.remote)} is not ADDR:PORT`);
  return { proto: 'TCP', local, foreign, state, line };
}

function numberOrNull(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}
