import { RetrolabError } from '../errors.ts';

/** A target that cannot run on this machine as configured: reported as skipped, with the fix. */
export class TargetSkippedError extends RetrolabError {
  constructor(
    readonly target: string,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`${target}: ${reason}\n  fix: ${fix}`, { context: { target } });
  }
}

/** A target that should run did not become ready (container, QEMU or agent failed): an infrastructure error. */
export class TargetStartError extends RetrolabError {}
