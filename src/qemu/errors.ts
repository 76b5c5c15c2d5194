import { PrerequisiteError, RetrolabError } from '../errors.ts';

/** QEMU answered a QMP command with an error. */
export class QmpCommandError extends RetrolabError {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly description: string,
    readonly socketPath: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${description}`, { context: { command, errorClass, socketPath } });
  }
}

/** The QMP socket could not be reached, or closed while a command was outstanding. */
export class QmpConnectionError extends RetrolabError {
  constructor(
    message: string,
    readonly socketPath: string,
    readonly command?: string,
    cause?: unknown,
  ) {
    super(`${message} (QMP socket ${socketPath}${command ? `, during ${command}` : ''})`, {
      cause,
      context: { socketPath, command },
    });
  }
}

/** An outgoing migration (saving a VM state to a file) ended in any state but `completed`. */
export class MigrationError extends RetrolabError {
  constructor(
    readonly status: string,
    readonly detail: string | undefined,
    readonly stateFile: string,
  ) {
    super(`Saving the VM state to ${stateFile} ended in status "${status}"${detail ? `: ${detail}` : ''}`, {
      context: { status, stateFile },
    });
  }
}

/** A QEMU screendump was not the binary PPM (P6, maxval 255) QEMU writes. */
export class PpmFormatError extends RetrolabError {
  constructor(
    message: string,
    readonly file: string | undefined,
  ) {
    super(`${file ? `${file}: ` : ''}${message}`, { context: { file } });
  }
}

/** qemu-img failed; stderr says why. */
export class QemuImgError extends RetrolabError {
  constructor(
    readonly args: string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`qemu-img ${args.join(' ')} exited with ${exitCode}: ${stderr.trim() || '(no output)'}`, {
      context: { args, exitCode },
    });
  }
}

/** `accel: kvm` was demanded but KVM cannot run a guest here. */
export class KvmUnavailableError extends PrerequisiteError {
  constructor(readonly reason: string) {
    super(
      `KVM was requested but cannot run a guest on this host: ${reason}`,
      'set "accel": "auto" or "tcg" in the VM spec, or run on a host with working KVM',
    );
  }
}

/** QEMU did not come up far enough to answer on its sockets (a bad option, an unreadable image, a missing device). */
export class VmStartError extends RetrolabError {
  constructor(
    readonly target: string,
    readonly stderrTail: string[],
    cause: unknown,
  ) {
    super(
      `${target}: QEMU did not start: ${cause instanceof Error ? cause.message : String(cause)}` +
        (stderrTail.length > 0 ? `\n${stderrTail.map((line) => `  | ${line}`).join('\n')}` : ''),
      { cause, context: { target } },
    );
  }
}

/** What a failed VM left behind for a person to look at. */
export interface VmArtifacts {
  /** The last lines the guest wrote on COM1. */
  lastSerialLines: string[];
  /** The same lines (and more) saved in the run's artifacts folder. */
  serialLogPath: string | undefined;
  /** A PNG of the guest's screen, when QEMU was still alive to take it. */
  screenshotPath: string | undefined;
  /** A copy of the guest's own console log (spec `consoleLog`), when it has one, and its last lines. */
  consoleLogPath?: string | undefined;
  lastConsoleLines?: string[];
}

/** Base of every failure of a running VM; carries the artifacts saved for it. */
export class VmError extends RetrolabError {
  readonly target: string;
  readonly artifacts: VmArtifacts;

  constructor(
    message: string,
    target: string,
    artifacts: VmArtifacts,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(`${target}: ${message}${describeArtifacts(artifacts)}`, {
      cause: options.cause,
      context: {
        target,
        ...options.context,
        serialLog: artifacts.serialLogPath,
        screenshot: artifacts.screenshotPath,
        console: artifacts.consoleLogPath,
      },
    });
    this.target = target;
    this.artifacts = artifacts;
  }

  get lastSerialLines(): string[] {
    return this.artifacts.lastSerialLines;
  }

  get screenshotPath(): string | undefined {
    return this.artifacts.screenshotPath;
  }
}

/** The guest did not become ready within the spec's boot-to-ready timeout. */
export class BootTimeoutError extends VmError {
  constructor(
    target: string,
    readonly elapsedMs: number,
    artifacts: VmArtifacts,
    cause?: unknown,
  ) {
    super(`not ready after ${(elapsedMs / 1000).toFixed(1)} s (boot-to-ready timeout)`, target, artifacts, {
      cause,
      context: { elapsedMs },
    });
  }
}

/** QEMU went away while the lab was using it (killed, crashed, or the container died). */
export class VmCrashedError extends VmError {
  constructor(
    target: string,
    readonly during: string,
    artifacts: VmArtifacts,
    cause?: unknown,
  ) {
    super(`QEMU exited unexpectedly during ${during}`, target, artifacts, { cause, context: { during } });
  }
}

/** The serial line stayed quiet longer than the spec allows while an operation waited on the guest. */
export class SerialSilenceError extends VmError {
  constructor(
    target: string,
    readonly during: string,
    readonly silentMs: number,
    artifacts: VmArtifacts,
  ) {
    super(`no byte on the serial line for ${(silentMs / 1000).toFixed(1)} s during ${during}`, target, artifacts, {
      context: { during, silentMs },
    });
  }
}

/** The guest's CPUs stopped (QMP status paused, internal-error, guest-panicked...) in the middle of an operation. */
export class GuestFrozenError extends VmError {
  constructor(
    target: string,
    readonly during: string,
    readonly status: string,
    readonly silentMs: number,
    artifacts: VmArtifacts,
  ) {
    super(
      `the guest stopped running during ${during} (QMP status "${status}"; ${(silentMs / 1000).toFixed(1)} s without a byte on the serial line)`,
      target,
      artifacts,
      {
        context: { during, status, silentMs },
      },
    );
  }
}

/** An operation on the guest passed its deadline. */
export class VmDeadlineError extends VmError {
  constructor(
    target: string,
    readonly during: string,
    readonly timeoutMs: number,
    artifacts: VmArtifacts,
  ) {
    super(`${during} did not finish within ${(timeoutMs / 1000).toFixed(1)} s`, target, artifacts, {
      context: { during, timeoutMs },
    });
  }
}

function describeArtifacts(artifacts: VmArtifacts): string {
  const lines: string[] = [];
  if (artifacts.lastSerialLines.length > 0) {
    lines.push('  last serial lines:', ...artifacts.lastSerialLines.map((line) => `  | ${line}`));
  } else {
    lines.push('  the guest wrote nothing on the serial line');
  }
  if (artifacts.serialLogPath) lines.push(`  serial log: ${artifacts.serialLogPath}`);
  if (artifacts.lastConsoleLines && artifacts.lastConsoleLines.length > 0) {
    lines.push('  last guest console lines:', ...artifacts.lastConsoleLines.map((line) => `  | ${line}`));
  }
  if (artifacts.consoleLogPath) lines.push(`  guest console: ${artifacts.consoleLogPath}`);
  if (artifacts.screenshotPath) lines.push(`  screenshot: ${artifacts.screenshotPath}`);
  return `\n${lines.join('\n')}`;
}
