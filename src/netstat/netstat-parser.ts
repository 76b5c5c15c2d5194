import { SocketTableParseError } from './errors.ts';
import { servicePort } from './service-ports.ts';
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
 * usage text, a crash) must not pass as an empty table. Host and service
 * names are refused: a scenario's snapshot must be comparable between moments
 * and matched to its peer, so it needs -n. `parsePastedNetstat` is the lenient
 * reader for text a person pasted.
 */
export function parseNetstat(text: string, options: { origin?: string } = {}): SocketTable {
  return readNetstat(text, { ...options, pasted: false }).table;
}

/** What a pasted NETSTAT text held besides its rows. */
export interface PastedNetstat {
  table: SocketTable;
  /** Command prompt lines (`C:\>netstat -an | find "7000"`), with their line numbers. */
  prompts: { line: number; text: string }[];
  /** Lines where an editor cut rows out (`...`): the table is not complete there. */
  elided: number[];
  /** Lines of the rows that carry host or service names (NETSTAT without -n). */
  namedRows: number[];
}

/**
 * Reads NETSTAT as people paste it from real machines and old documents: a
 * prompt line before the table (`C:\>netstat -an`) or a `| find` filter that
 * left rows without title or header; an editor's `...` line; fields separated
 * by single spaces; a foreign address that overran its column into the state;
 * and `netstat -a` without -n, whose host and service names (`retro95:nbsession`)
 * are kept as written, with well-known service names mapped to their ports.
 * Anything else is still an error naming its line.
 */
export function parsePastedNetstat(text: string, options: { origin?: string } = {}): PastedNetstat {
  return readNetstat(text, { ...options, pasted: true });
}

/** A DOS/Windows prompt (`C:\>`, `C:\WINDOWS>`) with netstat, find or nothing after it. */
const PROMPT = /^\s*[A-Za-z]:\\[^>]*>\s*(.*)$/;
const PROMPT_COMMAND = /^(?:netstat|find|findstr)(?:\.exe)?(?:\s|$)/i;
/** The header FIND prints for each file it searched: `---------- NETSTAT.TXT`. */
const FIND_FILE_HEADER = /^-{10} \S.*$/;
/** `...`, `…`, `[...]`, `(...)`, optionally saying how much was cut: `... 90 more rows`. */
const ELLIPSIS = /^\s*[[(]?\s*(?:\.{2,}|…)\s*[\])]?\s*(?:\(?\s*\d+\s+more(?:\s+[a-z]+)?\s*\)?)?\s*$/i;
/** A host name as resolvers print it. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;
const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function readNetstat(text: string, options: { origin?: string; pasted: boolean }): PastedNetstat {
  const lines = text.split(/\r?\n|\r/);
  const rows: SocketRow[] = [];
  const prompts: PastedNetstat['prompts'] = [];
  const elided: number[] = [];
  let sawHeading = false;
  const fail: (index: number, problem: string) => never = (index, problem) => {
    throw new SocketTableParseError('netstat', index + 1, lines[index] ?? '', problem, options.origin);
  };
  const needsN = ' (was NETSTAT run with -n?)';

  lines.forEach((raw, index) => {
    if (options.pasted) {
      const prompt = PROMPT.exec(raw);
      if (prompt !== null) {
        const command = prompt[1] ?? '';
        if (command !== '' && !PROMPT_COMMAND.test(command))
          fail(index, 'a command prompt line may only run netstat (or find on its output)');
        prompts.push({ line: index + 1, text: raw.trim() });
        return;
      }
      if (FIND_FILE_HEADER.test(raw)) {
        prompts.push({ line: index + 1, text: raw.trim() });
        return;
      }
      if (ELLIPSIS.test(raw)) {
        elided.push(index + 1);
        return;
      }
    }
    let tokens = raw
      .trim()
      .split(/\s+/)
      .filter((token) => token !== '');
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
    if (options.pasted && proto === 'TCP' && tokens.length === 3) tokens = splitOverrunState(tokens);
    if (proto === 'TCP' && tokens.length !== 4) {
      fail(index, `a TCP row has 4 fields (proto, local, foreign, state), this one has ${tokens.length}`);
    }
    if (proto === 'UDP' && tokens.length !== 3) {
      fail(index, `a UDP row has 3 fields (proto, local, *:*), this one has ${tokens.length}`);
    }
    const read = (token: string, wildcard: boolean, which: string): Endpoint & { named: boolean } => {
      const numeric = parseEndpoint(token, wildcard);
      if (numeric !== undefined) return { ...numeric, named: false };
      const named = options.pasted ? parseNamedEndpoint(token, proto) : undefined;
      if (named !== undefined) return { ...named, named: true };
      return fail(
        index,
        `${which} address ${JSON.stringify(token)} is not ADDR:PORT with a numeric port${options.pasted ? ' or HOST:SERVICE' : needsN}`,
      );
    };
    const { named: localNamed, ...local } = read(tokens[1] ?? '', false, 'local');
    const { named: foreignNamed, ...foreign } = read(tokens[2] ?? '', proto === 'UDP', 'foreign');
    const state =
      proto === 'TCP' ? (normalizeTcpState(tokens[3] ?? '') ?? fail(index, `unknown TCP state ${JSON.stringify(tokens[3])}`)) : null;
    const row: SocketRow = { proto, local, foreign, state, line: index + 1 };
    rows.push(localNamed || foreignNamed ? { ...row, named: true } : row);
  });

  if (!sawHeading && rows.length === 0) {
    const firstLine = lines.findIndex((line) => line.trim() !== '');
    fail(firstLine === -1 ? 0 : firstLine, 'no "Active Connections" title, column header or row (empty output)');
  }
  return { table: socketTable('netstat', rows), prompts, elided, namedRows: rows.filter((row) => row.named).map((row) => row.line) };
}

/** Spellings NETSTAT uses for states, longest first so `FIN_WAIT_2` is not read as a `…2` address ending. */
const STATE_SPELLINGS = [
  'SYN_RECEIVED',
  'ESTABLISHED',
  'CLOSE_WAIT',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'TIMED_WAIT',
  'TIME_WAIT',
  'LISTENING',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'SYN_SEND',
  'SYN_SENT',
  'SYN_RCVD',
  'LAST_ACK',
  'CLOSING',
  'LISTEN',
  'CLOSED',
];

/**
 * `TCP 10.0.2.15:1030 some.long.host.name:nbsessionESTABLISHED`: a foreign
 * address as wide as its column leaves no space before the state. Split it
 * where a state name ends the field and something ADDR:PORT-like is left.
 */
function splitOverrunState(tokens: string[]): string[] {
  const glued = tokens[2] ?? '';
  for (const spelling of STATE_SPELLINGS) {
    if (glued.length > spelling.length && glued.toUpperCase().endsWith(spelling)) {
      const address = glued.slice(0, -spelling.length);
      if (/:[^:]+$/.test(address)) return [tokens[0] ?? '', tokens[1] ?? '', address, glued.slice(-spelling.length)];
    }
  }
  return tokens;
}

/**
 * `1.2.3.4:80`, `0.0.0.0:0`, `[::]:135` or, for a UDP peer, `*:*`. Host and
 * service names (NETSTAT without -n) are refused here: they cannot be compared
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

/** `retro95:nbsession`, `gateway:7000`, `retro95:0`: a host name as written, a port or a service name (mapped where it is well known). */
function parseNamedEndpoint(text: string, proto: 'TCP' | 'UDP'): Endpoint | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const addr = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!isIpv4(addr) && (!HOST_NAME.test(addr) || /^[\d.]+$/.test(addr))) return undefined;
  if (/^\d{1,5}$/.test(portText) && Number(portText) <= 65535) return { addr, port: Number(portText) };
  if (!SERVICE_NAME.test(portText)) return undefined;
  return { addr, port: servicePort(portText, proto) ?? null, service: portText };
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}
