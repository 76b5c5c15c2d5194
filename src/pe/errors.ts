import { RetrolabError } from '../errors.ts';
import type { AuditProblem } from './pe-audit.ts';

/** The bytes are not a PE32 image this reader understands. */
export class PeFormatError extends RetrolabError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, problem: string) {
    super(`${file}: not a readable PE32 image: ${problem} (at byte offset ${offset})`, { context: { file, offset } });
    this.file = file;
    this.offset = offset;
  }
}

/** A guest program would not load (or would not run correctly) on an OS it says it supports. */
export class PeAuditError extends RetrolabError {
  readonly file: string;
  readonly problems: readonly AuditProblem[];

  constructor(file: string, problems: readonly AuditProblem[]) {
    super(
      `${file} fails the Win95-safe audit (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.message}`).join('\n'),
      { context: { file, problems } },
    );
    this.file = file;
    this.problems = problems;
  }
}
