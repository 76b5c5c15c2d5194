import type { Readable } from 'node:stream';
import { $, type ProcessOutput, type ProcessPromise } from 'zx';
import { RetrolabError } from '../errors.ts';
import { trackProcess } from './owner-ledger.ts';

/**
 * The one way retrolab runs a program on the host (compilers, mtools,
 * qemu-img, debootstrap, tar): an argument vector, never a shell line; a
 * result that carries the command, exit code, signal, output and duration;
 * one error type for every failure. Built on zx, as the product card says.
 */

export interface HostCommandOptions {
  signal?: AbortSignal;
  /** Fed to the program's stdin (a stream is piped as it comes). */
  input?: string | Buffer | Readable;
  /** Added to (not replacing) this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Killed after this long; the error then says it timed out. */
  timeoutMs?: number;
}

export interface HostCommandResult {
  command: string;
  args: readonly string[];
  /** null when the program was ended by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** How much of stderr an error message quotes: enough to act on, never a flood. */
export const STDERR_TAIL_CHARS = 2_000;

export function tail(text: string, chars = STDERR_TAIL_CHARS): string {
  const trimmed = text.trim();
  return trimmed.length <= chars ? trimmed : `…${trimmed.slice(-chars)}`;
}

export function commandLineOf(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A host program failed: could not start, exited non-zero, was killed or timed out. */
export class HostCommandError extends RetrolabError {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  /** The program is not installed on this host (exit 127 or ENOENT). */
  readonly missing: boolean;

  constructor(result: HostCommandResult, options: { timedOut?: boolean; cause?: unknown } = {}) {
    const missing = result.exitCode === 127;
    const how = options.timedOut
      ? 'timed out'
      : missing
        ? 'is not installed on this host (exit 127)'
        : result.exitCode === null
          ? `was killed by ${result.signal ?? 'a signal'}`
          : `exited with status ${result.exitCode}${result.exitCode === 137 ? ' (killed: out of memory or SIGKILL)' : ''}`;
    const err = tail(result.stderr) || tail(result.stdout, 500);
    super(`${commandLineOf(result.command, result.args)} ${how} after ${result.durationMs} ms${err ? `:\n${err}` : ''}`, {
      cause: options.cause,
      context: {
        command: result.command,
        args: result.args,
        exitCode: result.exitCode,
        signal: result.signal,
        durationMs: result.durationMs,
      },
    });
    this.command = result.command;
    this.args = result.args;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
    this.durationMs = result.durationMs;
    this.timedOut = options.timedOut === true;
    this.missing = missing;
  }
}

function start(
  command: string,
  args: readonly string[],
  options: HostCommandOptions,
): { proc: ProcessPromise; started: number; timeout?: AbortSignal } {
  const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const proc = $({
    quiet: true,
    nothrow: true,
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.input === undefined || !(typeof options.input === 'string' || Buffer.isBuffer(options.input))
      ? {}
      : { input: options.input }),
    ...(signal === undefined ? {} : { signal }),
  })`${command} ${args}`;
  if (options.input !== undefined && typeof options.input !== 'string' && !Buffer.isBuffer(options.input)) options.input.pipe(proc.stdin);
  // On the ledger while it runs: a killed orchestrator's reaper ends it (an orphaned qemu-img once ran on for minutes).
  if (proc.pid !== undefined) {
    const untrack = trackProcess(proc.pid);
    proc.finally(untrack).catch(() => undefined);
  }
  return { proc, started: Date.now(), timeout };
}

function resultOf(command: string, args: readonly string[], output: ProcessOutput, started: number): HostCommandResult {
  return {
    command,
    args,
    exitCode: output.exitCode,
    signal: output.signal ?? null,
    stdout: output.stdout,
    stderr: output.stderr,
    durationMs: Date.now() - started,
  };
}

async function settle(
  command: string,
  args: readonly string[],
  running: ReturnType<typeof start>,
  options: HostCommandOptions,
): Promise<HostCommandResult> {
  let output: ProcessOutput;
  try {
    output = await running.proc;
  } catch (error) {
    // zx rejects even with nothrow when the program cannot be spawned at all.
    const result: HostCommandResult = {
      command,
      args,
      exitCode: 127,
      signal: null,
      stdout: '',
      stderr: String(error),
      durationMs: Date.now() - running.started,
    };
    throw new HostCommandError(result, { cause: error });
  }
  const result = resultOf(command, args, output, running.started);
  if (options.signal?.aborted) throw options.signal.reason as Error;
  if (result.exitCode !== 0) throw new HostCommandError(result, { timedOut: running.timeout?.aborted === true });
  return result;
}

/** Runs a host program to its end; throws HostCommandError unless it exits 0 (an abort rethrows the signal's reason). */
export async function runHostCommand(
  command: string,
  args: readonly string[],
  options: HostCommandOptions = {},
): Promise<HostCommandResult> {
  return settle(command, args, start(command, args, options), options);
}

/** Runs a host program and returns its result whatever its exit status (probes such as `command -v`). Throws only on abort. */
export async function probeHostCommand(
  command: string,
  args: readonly string[],
  options: HostCommandOptions = {},
): Promise<HostCommandResult> {
  try {
    return await runHostCommand(command, args, options);
  } catch (error) {
    if (error instanceof HostCommandError) {
      return {
        command,
        args,
        exitCode: error.exitCode,
        signal: error.signal,
        stdout: error.stdout,
        stderr: error.stderr,
        durationMs: error.durationMs,
      };
    }
    throw error;
  }
}

/** A host program whose stdout is consumed while it runs (a tar stream, progress lines). */
export interface StreamingHostCommand {
  readonly stdout: Readable;
  /** stdout split into lines as they come. */
  lines(): AsyncIterable<string>;
  /** Settles as runHostCommand does, once the program has ended. */
  readonly done: Promise<HostCommandResult>;
}

export function streamHostCommand(command: string, args: readonly string[], options: HostCommandOptions = {}): StreamingHostCommand {
  const running = start(command, args, options);
  const done = settle(command, args, running, options);
  // A failure is reported through `done`; until someone awaits it, don't let it surface as unhandled.
  done.catch(() => undefined);
  return {
    stdout: running.proc.stdout,
    async *lines() {
      let pending = '';
      for await (const chunk of running.proc.stdout) {
        pending += String(chunk);
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) yield line;
      }
      if (pending) yield pending;
    },
    done,
  };
}
