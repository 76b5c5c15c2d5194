import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SocketTableParseError, TcptabError } from '../../src/netstat/errors.ts';
import { parseTcptab } from '../../src/netstat/tcptab-parser.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/netstat/${name}`, import.meta.url), 'utf8');

function thrown(text: string): unknown {
  try {
    parseTcptab(text, { origin: 'tcptab.out' });
  } catch (error) {
    return error;
  }
  throw new Error('parseTcptab accepted the text');
}

describe('parseTcptab', () => {
  it("reads every row with the state from iphlpapi's state code", () => {
    const table = parseTcptab(fixture('tcptab-win98.txt'));
    expect(table.source).toBe('tcptab');
    expect(table.rows).toHaveLength(5);
    expect(table.rows[2]).toEqual({
      proto: 'TCP',
      local: { addr: '10.0.2.15', port: 1031 },
      foreign: { addr: '10.0.2.2', port: 7000 },
      state: 'FIN_WAIT_2',
      line: 3,
    });
    expect(table.counts).toMatchObject({ LISTEN: 1, ESTABLISHED: 1, FIN_WAIT_2: 1, CLOSE_WAIT: 1, TIME_WAIT: 1 });
    expect(table.udp).toBe(0);
  });

  it('reads an empty table', () => {
    expect(parseTcptab('event=count rows=0\r\n').rows).toEqual([]);
  });

  it('says to use NETSTAT where iphlpapi does not exist', () => {
    const error = thrown(fixture('tcptab-win95-unavailable.txt'));
    expect(error).toBeInstanceOf(TcptabError);
    expect(error).toMatchObject({ reason: 'unavailable', error: 126 });
    expect((error as TcptabError).message).toContain('read NETSTAT -AN instead');
  });

  it('reports a failed GetTcpTable', () => {
    expect(thrown('event=error call=GetTcpTable err=122\r\n')).toMatchObject({ reason: 'failed', call: 'GetTcpTable', error: 122 });
  });

  it('refuses a table cut short, quoting the broken line', () => {
    const error = thrown(fixture('tcptab-cut-short.txt')) as SocketTableParseError;
    expect(error).toBeInstanceOf(SocketTableParseError);
    expect(error.line).toBe(2);
    expect(error.message).toContain('tcptab.out:2');
    expect(error.problem).toContain('remote=undefined');
  });

  it('refuses a table without its count or with a wrong one', () => {
    expect(
      (thrown('event=row state=ESTABLISHED state_code=5 local=1.2.3.4:1 remote=1.2.3.4:2\n') as SocketTableParseError).problem,
    ).toContain('without event=count');
    expect((thrown('event=count rows=2\n') as SocketTableParseError).problem).toContain('says 2 rows but 0 were printed');
  });

  it('refuses text that is not tcptab output', () => {
    const error = thrown('Bad command or file name\r\n') as SocketTableParseError;
    expect(error).toBeInstanceOf(SocketTableParseError);
    expect([error.line, error.lineText]).toEqual([1, 'Bad command or file name']);
    expect(
      (thrown('event=row state=BOGUS state_code=99 local=1.2.3.4:1 remote=1.2.3.4:2\nevent=count rows=1\n') as SocketTableParseError)
        .problem,
    ).toContain('unknown TCP state "BOGUS"');
  });
});
