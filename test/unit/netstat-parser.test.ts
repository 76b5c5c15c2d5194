import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SocketTableParseError } from '../../src/netstat/errors.ts';
import { parseNetstat } from '../../src/netstat/netstat-parser.ts';
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
    const text = 'Active Connections\n\tProto Local Address Foreign Address State\nTCP\t127.0.0.1:1030   127.0.0.1:1031\t \tESTABLISHED   \n   udp 0.0.0.0:53 *:*\n';
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
