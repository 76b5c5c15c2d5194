import { SocketTableParseError } from './errors.ts';
import { socketTable, type Endpoint, type SocketRow, type SocketTable } from '../model/socket-table.ts';
import { normalizeTcpState } from '../model/tcp-state.ts';

/**
 * Reads `NETSTAT -AN` output of Windows 95/98, NT 4 and Wine into one table.
 *
 * The dialects differ in ways that must not matter here: state spellings
 * (SYN_SEND, TIMED_WAIT, LISTENING, FIN_WAIT2, …), which rows they print at all
 * (no LISTENING rows on Wine or on NT 4 before SP3; Wine 8 prints only
 * ESTABLISHED, TIME_WAIT and CLOSE_WAIT), column widths, and line endings. So
 * lines are split on whitespace, never on columns.
 *
 * Anything that is not a title, a column header, a blank line or a row is an
 * error: a guest that printed something else (a `Bad command or file name`, a
 * usage text, a crash) must not pass as an empty table.
 */
export function parseNetstat(text: string, options: { origin?: string } = {}): SocketTable {
  const lines = text.split(/\r?\n|\r/);
  const rows: SocketRow[] = [];
  let sawHeading = false;
  const fail: (index: number, problem: string) => never = (index, problem) => {
    throw new SocketTableParseError('netstat', index + 1, lines[index] ?? '', problem, options.origin);
  };

  lines.forEach((raw, index) => {
    const tokens = raw.trim().split(/\s+/).filter((token) => token !== '');
    const first = tokens[0];
    if (first === undefined) return;
    if (/^active$/i.test(first) && tokens.length === 2 && /^connections$/i.test(tokens[1] ?? '')) {
      sawHeading = true;
      return;
    }
    if (/^proto$/i.test(first)) {
      if (!/^proto\s+local\s+address\s+foreign\s+address(\s+state)?$/i.test(tokens.join(' '))) {
        fail(index, 'a column header must read "Proto Local Address Foreign Address State"');
      }
      sawHeading = true;
      return;
    }
    const proto = first.toUpperCase();
    if (proto !== 'TCP' && proto !== 'UDP') {
      fail(index, sawHeading ? 'expected a TCP or UDP row' : 'expected the "Active Connections" title or a TCP/UDP row');
    }
    if (proto === 'TCP' && tokens.length !== 4) {
      fail(index, `a TCP row has 4 fields (proto, local, foreign, state), this one has ${tokens.length}`);
    }
    if (proto === 'UDP' && tokens.length !== 3) {
      fail(index, `a UDP row has 3 fields (proto, local, *:*), this one has ${tokens.length}`);
    }
    const local = parseEndpoint(tokens[1] ?? '', false) ?? fail(index, `local address ${JSON.stringify(tokens[1])} is not ADDR:PORT with a numeric port (was NETSTAT run with -n?)`);
    const foreign = parseEndpoint(tokens[2] ?? '', proto === 'UDP') ?? fail(index, `foreign address ${JSON.stringify(tokens[2])} is not ADDR:PORT with a numeric port (was NETSTAT run with -n?)`);
    const state = proto === 'TCP' ? (normalizeTcpState(tokens[3] ?? '') ?? fail(index, `unknown TCP state ${JSON.stringify(tokens[3])}`)) : null;
    rows.push({ proto, local, foreign, state, line: index + 1 });
  });

  if (!sawHeading && rows.length === 0) {
    const firstLine = lines.findIndex((line) => line.trim() !== '');
    fail(firstLine === -1 ? 0 : firstLine, 'no "Active Connections" title, column header or row (empty output)');
  }
  return socketTable('netstat', rows);
}

/**
 * `1.2.3.4:80`, `0.0.0.0:0`, `[::]:135` or, for a UDP peer, `*:*`. Host and
 * service names (NETSTAT without -n) are refused: they cannot be compared
 * between snapshots or matched to the test's peer.
 */
export function parseEndpoint(text: string, allowWildcard: boolean): Endpoint | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const addr = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (allowWildcard && addr === '*' && portText === '*') return { addr, port: null };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  if (!isIpv4(addr) && !/^\[[0-9a-f:.%a-z]+\]$/i.test(addr)) return undefined;
  return { addr, port };
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}
