import { errorMessage, RetrolabError } from '../errors.ts';
import { raceAbort, sleep } from '../util/abortable.ts';

/**
 * The progress of a wait, told every `progressEveryMs` (1 s by default) while
 * it lasts and never after it ends: `elapsedMs` since the wait began,
 * `limitMs` its deadline, `what` is awaited ("the agent's banner on COM1").
 *
 * The wait does not print: a renderer decides what to show and how often
 * (issue 18: waits longer than 5 s as "waiting for the agent's banner on COM1
 * 60/240 s", a live line on a TTY, a line every 10 s at most in CI logs).
 * A callback that throws is ignored, so progress can never end a wait.
 */
export type WaitProgress = (elapsedMs: number, limitMs: number, what: string) => void;

/** What every wait strategy takes. */
export interface WaitOptions {
  /** The deadline of the whole wait, attempts and pauses included. */
  timeoutMs: number;
  /** Ends the wait with the signal's reason (an abort is not a timeout). */
  signal?: AbortSignal;
  onProgress?: WaitProgress;
  progressEveryMs?: number;
}

/** How `waitFor` paces its attempts. */
export interface PollOptions {
  /** The pause after the first failed attempt (default 100 ms); each next pause is `factor` times longer, up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Ends one attempt (its signal aborts) after this long; the wait then tries again. */
  attemptTimeoutMs?: number;
  /** Which failures mean "not yet" (default: all); any other one ends the wait as it is. */
  retryIf?: (error: unknown) => boolean;
}

/** The deadline passed before the awaited thing was there; `cause` is the last attempt's failure. */
export class WaitTimeoutError extends RetrolabError {
  readonly what: string;
  readonly limitMs: number;
  readonly elapsedMs: number;
  readonly attempts: number;

  constructor(what: string, fields: { limitMs: number; elapsedMs: number; attempts: number; lastError?: unknown }) {
    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    super(
      `gave up waiting for ${what} after ${seconds(fields.elapsedMs)} s (limit ${seconds(fields.limitMs)} s, ${fields.attempts} attempt(s))` +
        (fields.lastError === undefined ? '' : `; the last attempt: ${errorMessage(fields.lastError)}`),
      { cause: fields.lastError, context: { what, limitMs: fields.limitMs, elapsedMs: fields.elapsedMs, attempts: fields.attempts } },
    );
    this.what = what;
    this.limitMs = fields.limitMs;
    this.elapsedMs = fields.elapsedMs;
    this.attempts = fields.attempts;
  }
}

/**
 * Thrown by an attempt when waiting longer cannot help (the process that was
 * to open the socket is gone): `waitFor` stops and throws `reason` as it is.
 */
export class StopWaiting extends Error {
  readonly reason: unknown;

  constructor(reason: unknown) {
    super(`stop waiting: ${errorMessage(reason)}`);
    this.reason = reason;
  }
}

/**
 * Tries `attempt` until it resolves, pausing between failures, within
 * `timeoutMs`. Each attempt gets a signal that aborts at the deadline (or
 * after `attemptTimeoutMs`, or with `options.signal`); an attempt that ignores
 * it is still not waited for past the deadline.
 */
export async function waitFor<T>(
  what: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  options: WaitOptions & PollOptions,
): Promise<T> {
  const outer = options.signal;
  outer?.throwIfAborted();
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`the deadline for ${what}`)), options.timeoutMs);
  const onOuterAbort = () => deadline.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const progress = options.onProgress;
  const ticker =
    progress &&
    setInterval(() => {
      try {
        progress(Math.min(elapsed(), options.timeoutMs), options.timeoutMs, what);
      } catch {
        // Progress is for people; it never decides a wait.
      }
    }, options.progressEveryMs ?? 1_000);
  ticker?.unref();

  let attempts = 0;
  let lastError: unknown;
  let delay = options.firstDelayMs ?? 100;
  const timedOut = () => new WaitTimeoutError(what, { limitMs: options.timeoutMs, elapsedMs: elapsed(), attempts, lastError });
  try {
    for (;;) {
      if (outer?.aborted) throw outer.reason;
      if (deadline.signal.aborted) throw timedOut();
      attempts++;
      const signal =
        options.attemptTimeoutMs === undefined
          ? deadline.signal
          : AbortSignal.any([deadline.signal, AbortSignal.timeout(options.attemptTimeoutMs)]);
      try {
        return await raceAbort(attempt(signal), deadline.signal);
      } catch (error) {
        if (error instanceof StopWaiting) throw error.reason;
        if (outer?.aborted) throw outer.reason;
        if (deadline.signal.aborted) {
          // The deadline cut this attempt short: what it failed with is the deadline, not news.
          if (error !== deadline.signal.reason) lastError = error;
          throw timedOut();
        }
        if (options.retryIf && !options.retryIf(error)) throw error;
        lastError = error;
      }
      await sleep(delay, deadline.signal).catch(() => undefined);
      delay = Math.min(delay * (options.factor ?? 2), options.maxDelayMs ?? 1_000);
    }
  } finally {
    clearTimeout(timer);
    if (ticker) clearInterval(ticker);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}
