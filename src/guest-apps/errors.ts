import { PrerequisiteError, RetrolabError } from '../errors.ts';

/** The compiler or linker failed on a guest program; `output` is what it printed. */
export class GuestBuildError extends RetrolabError {
  readonly app: string;
  readonly command: string;
  readonly exitCode: number | null;
  readonly output: string;

  constructor(app: string, command: string, exitCode: number | null, output: string) {
    super(`building guest program ${app} failed (exit ${exitCode ?? 'signal'}): ${command}\n${output.trim()}`, {
      context: { app, command, exitCode },
    });
    this.app = app;
    this.command = command;
    this.exitCode = exitCode;
    this.output = output;
  }
}

/** Open Watcom could not be provided from `source` (WATCOM, a tarball, the release download); the message says why, `fix` what to do. */
export class OpenWatcomProvisionError extends PrerequisiteError {
  readonly source: string;

  constructor(message: string, source: string, fix: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, fix, { ...options, context: { source, ...options.context } });
    this.source = source;
  }
}
