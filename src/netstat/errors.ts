import { RetrolabError } from '../errors.ts';
import type { TableSource } from '../model/socket-table.ts';
import { quoteInput } from '../util/quote-input.ts';

/** The text is not the output of the program it was taken for. */
export class SocketTableParseError extends RetrolabError {
  readonly source: TableSource;
  /** 1-based line number of the first line that could not be read. */
  readonly line: number;
  readonly lineText: string;
  readonly problem: string;

  constructor(source: TableSource, line: number, lineText: string, problem: string, origin?: string) {
    const where = origin === undefined ? `line ${line}` : `${origin}:${line}`;
    super(`not ${source === 'netstat' ? 'NETSTAT -AN' : 'tcptab'} output: ${where}: ${problem}: ${quoteInput(lineText)}`, {
      context: { source, line, lineText, origin },
    });
    this.source = source;
    this.line = line;
    this.lineText = lineText;
    this.problem = problem;
  }
}

/**
 * tcptab ran but could not read the table: `unavailable` where iphlpapi's
 * GetTcpTable does not exist (Windows 95; use NETSTAT there), `failed` when the
 * call itself failed.
 */
export class TcptabError extends RetrolabError {
  readonly reason: 'unavailable' | 'failed';
  readonly call: string;
  readonly error: number | null;

  constructor(reason: 'unavailable' | 'failed', call: string, error: number | null) {
    super(
      reason === 'unavailable'
        ? `tcptab: ${call} does not exist on this guest (no iphlpapi, e.g. Windows 95); read NETSTAT -AN instead`
        : `tcptab: ${call} failed with error ${error ?? 'unknown'}`,
      { context: { reason, call, error } },
    );
    this.reason = reason;
    this.call = call;
    this.error = error;
  }
}
