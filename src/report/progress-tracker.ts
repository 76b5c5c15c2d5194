import type { ProgressSink, ProgressUpdate } from './progress.ts';

/** How often a wait in progress is reported even when nothing but the time changed. */
export const TICK_MS = 1_000;
/** Updates closer together than this wait for the next tick (an image build prints hundreds of lines a second). */
const MIN_UPDATE_MS = 200;

/** What the first update says (the fields of a ProgressUpdate), plus the tick and the clock (for tests). */
export interface TrackProgressOptions extends Pick<
  ProgressUpdate,
  'scope' | 'what' | 'limitMs' | 'countdown' | 'done' | 'total' | 'unit' | 'detail'
> {
  tickMs?: number;
  now?: () => number;
}

/** A wait being reported; `end()` (or leaving a `using` block) sends the last update and stops the ticks. */
export interface TrackedProgress extends Disposable {
  /** Changes what the next update says (the count so far, the latest line, a new bound). */
  set(change: Partial<Pick<ProgressUpdate, 'done' | 'total' | 'detail' | 'what' | 'limitMs' | 'countdown'>>): void;
  end(): void;
}

/**
 * Reports a wait while it lasts: an update at once, one a second (the time
 * so far changes even when nothing else does), one on each change at most
 * every 200 ms, and a last one marked `end`. The timer does not keep the
 * process alive.
 */
export function trackProgress(sink: ProgressSink, options: TrackProgressOptions): TrackedProgress {
  const now = options.now ?? Date.now;
  const started = now();
  const state: Omit<ProgressUpdate, 'kind' | 'elapsedMs' | 'end'> = {
    scope: options.scope,
    what: options.what,
    limitMs: options.limitMs,
    countdown: options.countdown,
    done: options.done,
    total: options.total,
    unit: options.unit,
    detail: options.detail,
  };
  let lastSent = Number.NEGATIVE_INFINITY;
  let ended = false;
  const send = (end: boolean) => {
    lastSent = now();
    sink({ kind: 'progress', ...state, elapsedMs: lastSent - started, end });
  };
  const timer = setInterval(() => send(false), options.tickMs ?? TICK_MS);
  timer.unref();
  send(false);

  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    send(true);
  };
  return {
    set(change) {
      if (ended) return;
      Object.assign(state, change);
      if (now() - lastSent >= MIN_UPDATE_MS) send(false);
    },
    end,
    [Symbol.dispose]: end,
  };
}

/** Runs `work` while reporting it as a wait (see trackProgress); the wait ends however `work` does. */
export async function withProgress<T>(
  sink: ProgressSink,
  options: TrackProgressOptions,
  work: (progress: TrackedProgress) => Promise<T>,
): Promise<T> {
  const progress = trackProgress(sink, options);
  try {
    return await work(progress);
  } finally {
    progress.end();
  }
}
