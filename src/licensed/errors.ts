import { ConfigError, RetrolabError } from '../errors.ts';

/**
 * A user's disk image cannot be used as it is (no partition table, NTFS, a
 * Windows folder missing, already prepared). It is the user's input, so it
 * counts as a configuration problem (exit 2); `fix` says what to do instead.
 */
export class UnusableImageError extends ConfigError {
  readonly image: string;
  readonly fix: string;

  constructor(image: string, problem: string, fix: string, options: { cause?: unknown } = {}) {
    super(`${image}: ${problem}\n  fix: ${fix}`, { ...options, context: { image, fix } });
    this.image = image;
    this.fix = fix;
  }
}

/**
 * An output path would land on a file the user handed in (the disk image, a
 * backing file of it, an install medium) or on an existing file without
 * --force. Exit 2, like any other bad flag.
 */
export class UnsafeOutputError extends ConfigError {
  readonly path: string;
  readonly flag: string;
  readonly fix: string;

  constructor(path: string, flag: string, problem: string, fix: string) {
    super(`${flag} ${path}: ${problem}\n  fix: ${fix}`, { context: { path, flag, fix } });
    this.path = path;
    this.flag = flag;
    this.fix = fix;
  }
}

/** A host tool (qemu-img, mtools, hivexregedit, mkfs.fat, xorriso) failed on a file retrolab made or copied. */
export class DiskToolError extends RetrolabError {
  readonly command: string[];
  readonly exitCode: number;
  readonly stderr: string;

  constructor(command: string[], exitCode: number, stderr: string) {
    super(`${command.join(' ')} exited with status ${exitCode}: ${stderr.trim() || '(no output)'}`, {
      context: { command, exitCode },
    });
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}
