import { RetrolabError } from '../errors.ts';
import { quoteInput } from '../util/quote-input.ts';

/** The line or the agent broke the protocol: bad frames beyond the retry budget, an unexpected reply, an ERROR reply. */
export class AgentProtocolError extends RetrolabError {}

/** A GET saw the file's size change between its chunks: someone writes it now; reading it again later is the answer. */
export class GuestFileChangedError extends AgentProtocolError {
  constructor(
    readonly path: string,
    readonly sizes: { before: number | undefined; after: number; offset: number },
  ) {
    super(`GET ${path}: the file changed while it was read (size ${sizes.before} then ${sizes.after} at offset ${sizes.offset})`, {
      context: { path, ...sizes },
    });
  }
}

/** The agent answered ERROR or FATAL; `kind` and `win32Error` are the reply's fields (PROTOCOL.md, "Error kinds"). */
export class AgentRequestError extends AgentProtocolError {
  readonly request: string;
  readonly kind: number;
  readonly kindName: string;
  readonly win32Error: number;
  readonly fatal: boolean;

  constructor(
    message: string,
    fields: { request: string; kind: number; kindName: string; win32Error: number; fatal: boolean },
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, { ...options, context: { ...fields, ...options.context } });
    this.request = fields.request;
    this.kind = fields.kind;
    this.kindName = fields.kindName;
    this.win32Error = fields.win32Error;
    this.fatal = fields.fatal;
  }
}

/** No valid answer arrived before the deadline, after every retransmission. */
export class AgentTimeoutError extends RetrolabError {
  readonly request: string;
  readonly attempts: number;
  readonly elapsedMs: number;

  constructor(request: string, attempts: number, elapsedMs: number, options: { cause?: unknown; lastFault?: string } = {}) {
    super(
      `the agent did not answer ${request} after ${attempts} attempt(s) in ${Math.round(elapsedMs)} ms` +
        (options.lastFault ? ` (last fault: ${options.lastFault})` : '') +
        '; check that the agent runs and the serial line is connected',
      { cause: options.cause, context: { request, attempts, elapsedMs } },
    );
    this.request = request;
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }
}

/** A guest command ran but exited non-zero or timed out (thrown only by `execChecked`). */
export class GuestCommandError extends RetrolabError {
  readonly command: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;

  constructor(result: { command: string; exitCode: number; stdout: string; stderr: string; durationMs: number; timedOut: boolean }) {
    const what = result.timedOut
      ? `timed out after ${result.durationMs} ms and was killed`
      : `exited with code ${result.exitCode} (0x${(result.exitCode >>> 0).toString(16)})`;
    const tail = (result.stderr.trim() || result.stdout.trim()).split(/\r?\n/).slice(-10).join('\n');
    super(`guest command ${quoteInput(result.command)} ${what}${tail ? `\n${tail}` : ''}`, {
      context: { command: result.command, exitCode: result.exitCode, durationMs: result.durationMs, timedOut: result.timedOut },
    });
    this.command = result.command;
    this.exitCode = result.exitCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
    this.durationMs = result.durationMs;
    this.timedOut = result.timedOut;
  }
}

/**
 * The guest sent (or announced) more than the host agreed to hold: a file over
 * the cap, or a chunk that does not fit the size it announced. A guest is
 * input like any other; a bad one must not make the host buffer gigabytes.
 */
export class GuestDataTooLargeError extends AgentProtocolError {
  readonly guestPath: string;
  readonly announced: number;
  readonly limit: number;

  constructor(guestPath: string, problem: string, fields: { announced: number; limit: number; fix: string }) {
    super(`GET ${guestPath}: ${problem}\n  fix: ${fields.fix}`, { context: { guestPath, ...fields } });
    this.guestPath = guestPath;
    this.announced = fields.announced;
    this.limit = fields.limit;
  }
}
