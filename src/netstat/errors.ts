import { RetrolabError } from '../errors.ts';
import type { TableSource } from './socket-table.ts';

/** The text is not the output of the program it was taken for. */
export class SocketTableParseError extends RetrolabError {
  readonly source: TableSource;
  /** 1-based line number of the first line that could not be read. */
  readonly line: number;
  readonly lineText: string;
  readonly problem: string;

  constructor(source: TableSource, line: number, lineText: string, problem: string, origin?: string) {
    const where = origin === undefined ? `line ${line}` : `${origin}:${line}`;
    super(`not ${source === 'netstat' ? 'NETSTAT -AN' : 'tcptab'} output: ${where}: ${problem}: ${JSON.stringify(lineText)}`, {
      context: { source, line, lineText, origin },
    });
    this.source = source;
    this.line = line;
    this.lineText = lineText;
    this.problem = problem;
  }
}
