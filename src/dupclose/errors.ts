import { RetrolabError } from '../errors.ts';
import { quoteInput } from '../util/quote-input.ts';

/** A guest program's output does not follow its documented event format (guest-apps/README.md). */
export class GuestOutputError extends RetrolabError {
  readonly program: string;
  /** 1-based line number of the first line that could not be read. */
  readonly line: number;
  readonly lineText: string;
  readonly problem: string;

  constructor(program: string, line: number, lineText: string, problem: string, origin?: string) {
    const where = origin === undefined ? `line ${line}` : `${origin}:${line}`;
    super(`${program} output, ${where}: ${problem}: ${quoteInput(lineText)}`, {
      context: { program, line, lineText, origin },
    });
    this.program = program;
    this.line = line;
    this.lineText = lineText;
    this.problem = problem;
  }
}
