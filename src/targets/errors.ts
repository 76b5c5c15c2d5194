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

/** The started guest is not what its target is for (another Windows, a broken Winsock): no verdict on it would mean anything. */
export class GuestMismatchError extends RetrolabError {
  readonly fix: string;

  constructor(message: string, fix: string, options: { context?: Record<string, unknown> } = {}) {
    super(`${message}\n  fix: ${fix}`, options);
    this.fix = fix;
  }
}
