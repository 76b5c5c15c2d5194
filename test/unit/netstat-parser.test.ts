import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SocketTableParseError } from '../../src/netstat/errors.ts';
import { formatEndpoint, type SocketRow } from '../../src/model/socket-table.ts';
import { parseNetstat, parsePastedNetstat } from '../../src/netstat/netstat-parser.ts';
import { normalizeTcpState, tcpStateFromMib } from '../../src/model/tcp-state.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/netstat/${name}`, import.meta.url), 'utf8');

function parseError(text: string): SocketTableParseError {
  try {
    parseNetstat(text, { origin: 'capture.txt' });
  } catch (error) {
    if (error instanceof SocketTableParseError) return error;
    throw error;
  }
  throw new Error('parseNetstat accepted the text');
}

describe('state names', () => {
  it.each([
    ['SYN_SEND', 'SYN_SENT'],
    ['SYN_SENT', 'SYN_SENT'],
    ['LISTEN', 'LISTEN'],
    ['LISTENING', 'LISTEN'],
    ['TIMED_WAIT', 'TIME_WAIT'],
    ['TIME_WAIT', 'TIME_WAIT'],
    ['FIN_WAIT_1', 'FIN_WAIT_1'],
    ['FIN_WAIT1', 'FIN_WAIT_1'],
    ['FIN_WAIT_2', 'FIN_WAIT_2'],
    ['FIN_WAIT2', 'FIN_WAIT_2'],
    ['CLOSE_WAIT', 'CLOSE_WAIT'],
    ['CLOSING', 'CLOSING'],
    ['LAST_ACK', 'LAST_ACK'],
    ['ESTABLISHED', 'ESTABLISHED'],
    ['SYN_RECEIVED', 'SYN_RECEIVED'],
    ['SYN_RCVD', 'SYN_RECEIVED'],
    ['close_wait', 'CLOSE_WAIT'],
  ])('%s is %s', (spelling, state) => {
    expect(normalizeTcpState(spelling)).toBe(state);
  });

  it('knows no made-up state', () => {
    expect(normalizeTcpState('HALF_OPEN')).toBeUndefined();
  });

  it('maps iphlpapi MIB_TCP_STATE numbers', () => {
    expect(tcpStateFromMib(1)).toBe('CLOSED');
    expect(tcpStateFromMib(2)).toBe('LISTEN');
    expect(tcpStateFromMib(5)).toBe('ESTABLISHED');
    expect(tcpStateFromMib(7)).toBe('FIN_WAIT_2');
    expect(tcpStateFromMib(8)).toBe('CLOSE_WAIT');
    expect(tcpStateFromMib(11)).toBe('TIME_WAIT');
    expect(tcpStateFromMib(12)).toBe('DELETE_TCB');
    expect(tcpStateFromMib(0)).toBeUndefined();
    expect(tcpStateFromMib(13)).toBeUndefined();
  });
});

describe('parseNetstat on Windows 95 output (CRLF, Win95 state spellings)', () => {
  const table = parseNetstat(fixture('win95-leaked.txt'));

  it('reads every row with its endpoints', () => {
    expect(table.source).toBe('netstat');
    expect(table.rows).toHaveLength(27);
    expect(table.rows[0]).toEqual({
      proto: 'TCP',
      local: { addr: '0.0.0.0', port: 137 },
      foreign: { addr: '0.0.0.0', port: 0 },
      state: 'LISTEN',
      line: 5,
    });
    expect(table.rows.at(-1)).toEqual({
      proto: 'UDP',
      local: { addr: '10.0.2.15', port: 138 },
      foreign: { addr: '*', port: null },
      state: null,
      line: 31,
    });
  });

  it('counts TCP rows per normalized state and UDP rows apart', () => {
    expect(table.counts).toMatchObject({ LISTEN: 3, CLOSE_WAIT: 18, FIN_WAIT_2: 2, TIME_WAIT: 1, SYN_SENT: 1, ESTABLISHED: 0 });
    expect(table.udp).toBe(2);
  });
});

describe('parseNetstat on the other dialects', () => {
  it('reads Windows 98 output', () => {
    const table = parseNetstat(fixture('win98-clean.txt'));
    expect(table.counts).toMatchObject({ LISTEN: 2, ESTABLISHED: 2, TIME_WAIT: 2, LAST_ACK: 1 });
    expect(table.udp).toBe(2);
  });

  it('reads NT 4 before SP3, which prints no LISTENING rows', () => {
    const table = parseNetstat(fixture('nt4-sp1.txt'));
    expect(table.counts.LISTEN).toBe(0);
    expect(table.counts).toMatchObject({ TIME_WAIT: 3, ESTABLISHED: 1 });
    expect(table.udp).toBe(3);
  });

  it('reads NT 4 SP6 with listeners and every closing state', () => {
    const table = parseNetstat(fixture('nt4-sp6.txt'));
    expect(table.counts).toMatchObject({ LISTEN: 3, CLOSE_WAIT: 1, FIN_WAIT_1: 1, CLOSING: 1, SYN_RECEIVED: 1, TIME_WAIT: 1 });
  });

  it('gives the same rows for LF, CRLF and bare CR line ends', () => {
    const crlf = fixture('nt4-sp6.txt');
    const lf = crlf.replace(/\r\n/g, '\n');
    const cr = crlf.replace(/\r\n/g, '\r');
    expect(parseNetstat(lf)).toEqual(parseNetstat(crlf));
    expect(parseNetstat(cr)).toEqual(parseNetstat(crlf));
  });

  it('splits on any whitespace, not on columns', () => {
    const text =
      'Active Connections\n\tProto Local Address Foreign Address State\nTCP\t127.0.0.1:1030   127.0.0.1:1031\t \tESTABLISHED   \n   udp 0.0.0.0:53 *:*\n';
    const table = parseNetstat(text);
    expect(table.rows.map((row) => [row.proto, row.local.port, row.foreign.port, row.state])).toEqual([
      ['TCP', 1030, 1031, 'ESTABLISHED'],
      ['UDP', 53, null, null],
    ]);
  });

  it('accepts a title-only output (no connections at all)', () => {
    const table = parseNetstat('\nActive Connections\n\n  Proto  Local Address          Foreign Address        State\n');
    expect(table.rows).toEqual([]);
    expect(table.counts.ESTABLISHED).toBe(0);
  });

  it('accepts bracketed IPv6 endpoints', () => {
    const table = parseNetstat('Active Connections\n  TCP    [::]:135   [::]:0   LISTENING\n');
    expect(table.rows[0]?.local).toEqual({ addr: '[::]', port: 135 });
  });
});

describe('parseNetstat on text that is not NETSTAT -AN output', () => {
  it('quotes a command interpreter error on line 1', () => {
    const error = parseError(fixture('malformed-bad-command.txt'));
    expect(error.line).toBe(1);
    expect(error.lineText).toBe('Bad command or file name');
    expect(error.message).toContain('capture.txt:1');
    expect(error.message).toContain('"Bad command or file name"');
  });

  it('names an unknown state and its line', () => {
    const error = parseError(fixture('malformed-unknown-state.txt'));
    expect(error.line).toBe(6);
    expect(error.problem).toContain('unknown TCP state "HALF_OPEN"');
    expect(error.lineText).toContain('HALF_OPEN');
  });

  it('refuses host and service names and says to use -n', () => {
    const error = parseError(fixture('malformed-names-without-n.txt'));
    expect(error.line).toBe(5);
    expect(error.problem).toContain('"retro95:1031"');
    expect(error.problem).toContain('-n');
  });

  it('refuses a truncated row', () => {
    const error = parseError(fixture('malformed-truncated.txt'));
    expect(error.line).toBe(6);
    expect(error.problem).toContain('4 fields');
  });

  it('refuses empty output', () => {
    const error = parseError(fixture('malformed-empty.txt'));
    expect(error.line).toBe(1);
    expect(error.problem).toContain('empty output');
  });

  it('refuses a UDP row with a state and a port out of range', () => {
    expect(parseError('Active Connections\n  UDP 0.0.0.0:53 *:* LISTENING\n').problem).toContain('3 fields');
    expect(parseError('Active Connections\n  TCP 1.2.3.4:70000 1.2.3.4:80 ESTABLISHED\n').line).toBe(2);
  });

  it('refuses a garbled column header', () => {
    expect(parseError('Active Connections\n  Proto  Lokal Adresse\n').line).toBe(2);
  });

  it('refuses text after the table (e.g. a routing table)', () => {
    const error = parseError('Active Connections\n  TCP 1.2.3.4:1030 1.2.3.4:80 ESTABLISHED\nRoute Table\n');
    expect(error.line).toBe(3);
    expect(error.lineText).toBe('Route Table');
  });
});

describe('parsePastedNetstat: NETSTAT as people paste it', () => {
  const pasteError = (text: string): SocketTableParseError => {
    try {
      parsePastedNetstat(text, { origin: 'pasted.txt' });
    } catch (error) {
      if (error instanceof SocketTableParseError) return error;
      throw error;
    }
    throw new Error('parsePastedNetstat accepted the text');
  };
  const summary = (rows: SocketRow[]) =>
    rows.map((row) => `${row.proto} ${formatEndpoint(row.local)} ${formatEndpoint(row.foreign)} ${row.state ?? ''}`.trim());

  it('skips a prompt line before the table and keeps it', () => {
    const text =
      'C:\\>netstat -an\r\n\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State\r\n  TCP    10.0.2.15:1030         10.0.2.2:7000          CLOSE_WAIT\r\n\r\nC:\\>\r\n';
    const pasted = parsePastedNetstat(text);
    expect(summary(pasted.table.rows)).toEqual(['TCP 10.0.2.15:1030 10.0.2.2:7000 CLOSE_WAIT']);
    expect(pasted.prompts).toEqual([
      { line: 1, text: 'C:\\>netstat -an' },
      { line: 8, text: 'C:\\>' },
    ]);
    // A snapshot from a guest has no prompt: the strict reader still refuses one.
    expect(() => parseNetstat(text)).toThrow(SocketTableParseError);
  });

  it('reads the rows a `| find` filter left, with no title or header', () => {
    const text =
      'C:\\WINDOWS>netstat -an | find "7000"\n  TCP    10.0.2.15:1030         10.0.2.2:7000          CLOSE_WAIT\n  TCP    10.0.2.15:1031         10.0.2.2:7000          FIN_WAIT_2\n';
    const pasted = parsePastedNetstat(text);
    expect(pasted.table.counts).toMatchObject({ CLOSE_WAIT: 1, FIN_WAIT_2: 1 });
    expect(pasted.prompts[0]?.text).toBe('C:\\WINDOWS>netstat -an | find "7000"');
  });

  it('reads FIND run on a saved NETSTAT file, with its file header', () => {
    const text =
      'C:\\>find "7000" NETSTAT.TXT\r\n\r\n---------- NETSTAT.TXT\r\n  TCP    10.0.2.15:1030         10.0.2.2:7000          CLOSE_WAIT\r\n';
    const pasted = parsePastedNetstat(text);
    expect(pasted.table.rows).toHaveLength(1);
    expect(pasted.prompts.map((prompt) => prompt.line)).toEqual([1, 3]);
  });

  it('refuses a prompt that ran something other than netstat', () => {
    const error = pasteError('C:\\>dir\n  TCP 1.2.3.4:1030 1.2.3.4:80 ESTABLISHED\n');
    expect(error.line).toBe(1);
    expect(error.problem).toContain('only run netstat');
  });

  it('notes an editor\'s "..." line as a place where rows are missing', () => {
    const text = [
      'Active Connections',
      '  Proto  Local Address          Foreign Address        State',
      '  TCP    10.0.2.15:1030         10.0.2.2:7000          CLOSE_WAIT',
      '  ...',
      '  TCP    10.0.2.15:1125         10.0.2.2:7000          CLOSE_WAIT',
      '… 94 more rows',
      '[...]',
    ].join('\n');
    const pasted = parsePastedNetstat(text);
    expect(pasted.table.rows).toHaveLength(2);
    expect(pasted.elided).toEqual([4, 6, 7]);
    expect(() => parseNetstat(text)).toThrow(/expected a TCP or UDP row/);
  });

  it('reads fields separated by single spaces', () => {
    const text =
      'Active Connections\nProto Local Address Foreign Address State\nTCP 10.0.2.15:1030 10.0.2.2:7000 TIMED_WAIT\nUDP 10.0.2.15:137 *:*\n';
    expect(summary(parsePastedNetstat(text).table.rows)).toEqual(['TCP 10.0.2.15:1030 10.0.2.2:7000 TIME_WAIT', 'UDP 10.0.2.15:137 *:*']);
  });

  it('reads a foreign address that overran its column, with or without a space left', () => {
    const text = [
      '  Proto  Local Address          Foreign Address        State',
      '  TCP    10.0.2.15:1030         fileserver.corp.example.com:nbsession ESTABLISHED',
      '  TCP    10.0.2.15:1031         fileserver.corp.example.com:nbsessionESTABLISHED',
      '  TCP    10.0.2.15:1032         255.255.255.255:65535FIN_WAIT_2',
    ].join('\n');
    const rows = parsePastedNetstat(text).table.rows;
    expect(summary(rows)).toEqual([
      'TCP 10.0.2.15:1030 fileserver.corp.example.com:nbsession ESTABLISHED',
      'TCP 10.0.2.15:1031 fileserver.corp.example.com:nbsession ESTABLISHED',
      'TCP 10.0.2.15:1032 255.255.255.255:65535 FIN_WAIT_2',
    ]);
    expect(rows[1]?.foreign).toEqual({ addr: 'fileserver.corp.example.com', port: 139, service: 'nbsession' });
  });

  it('reads `netstat -a` without -n: names kept as written, well-known services mapped to ports, and says which rows', () => {
    const pasted = parsePastedNetstat(fixture('malformed-names-without-n.txt'));
    const text = [
      'C:\\>netstat -a',
      '',
      'Active Connections',
      '',
      '  Proto  Local Address          Foreign Address        State',
      '  TCP    retro95:nbsession      retro95:0              LISTENING',
      '  TCP    retro95:1031           gateway:7000           ESTABLISHED',
      '  TCP    retro95:epmap          retro95:0              LISTENING',
      '  TCP    10.0.2.15:1032         10.0.2.2:7000          TIME_WAIT',
      '  TCP    retro95:1033           fileserver:imaginary   CLOSE_WAIT',
      '  UDP    retro95:nbname         *:*',
      '  UDP    retro95:nbdatagram     *:*',
    ].join('\r\n');
    const named = parsePastedNetstat(text);
    expect(named.table.rows.map((row) => [row.local, row.foreign])).toEqual([
      [
        { addr: 'retro95', port: 139, service: 'nbsession' },
        { addr: 'retro95', port: 0 },
      ],
      [
        { addr: 'retro95', port: 1031 },
        { addr: 'gateway', port: 7000 },
      ],
      [
        { addr: 'retro95', port: 135, service: 'epmap' },
        { addr: 'retro95', port: 0 },
      ],
      [
        { addr: '10.0.2.15', port: 1032 },
        { addr: '10.0.2.2', port: 7000 },
      ],
      [
        { addr: 'retro95', port: 1033 },
        { addr: 'fileserver', port: null, service: 'imaginary' },
      ],
      [
        { addr: 'retro95', port: 137, service: 'nbname' },
        { addr: '*', port: null },
      ],
      [
        { addr: 'retro95', port: 138, service: 'nbdatagram' },
        { addr: '*', port: null },
      ],
    ]);
    expect(named.namedRows).toEqual([6, 7, 8, 10, 11, 12]);
    expect(named.table.rows[3]?.named).toBeUndefined();
    expect(pasted.namedRows).toEqual([5, 6]);
  });

  it('still refuses names in a scenario snapshot, which needs -n', () => {
    expect(() => parseNetstat('Active Connections\n  TCP    retro95:1031   gateway:7000   ESTABLISHED\n')).toThrow(
      /was NETSTAT run with -n\?/,
    );
  });

  it('still refuses garbage with its line number, echoing at most 200 characters of it', () => {
    const long = `Microsoft(R) Windows 98 ${'x'.repeat(5000)}`;
    const error = pasteError(`C:\\>netstat -an\nActive Connections\n  TCP 1.2.3.4:1030 1.2.3.4:80 ESTABLISHED\n${long}\n`);
    expect(error.line).toBe(4);
    expect(error.message).toContain('pasted.txt:4: expected a TCP or UDP row');
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toContain('more characters');
    expect(pasteError('Bad command or file name\n').line).toBe(1);
    expect(pasteError('  TCP 1.2.3.4:1030 300.1.1.1:80 ESTABLISHED\n').problem).toContain('"300.1.1.1:80"');
    expect(pasteError('  TCP 1.2.3.4:1030 host:7000 HALF_OPEN\n').problem).toContain('unknown TCP state');
    expect(pasteError('  TCP 1.2.3.4:1030 host:7000\n').problem).toContain('4 fields');
  });
});
