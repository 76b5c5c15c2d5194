import type { ProgressEvent, ProgressSink, ProgressUpdate } from './progress.ts';

/** A non-TTY log gets at most one progress line per scope in this span (besides start and end lines). */
export const LOG_LINE_EVERY_MS = 10_000;
/** A wait shorter than this leaves no progress line in a log: the step lines around it say enough. */
export const LOG_QUIET_FOR_MS = 5_000;

const CLEAR_LINE = '\r\x1b[2K';

export interface ConsoleProgressOptions {
  verbose?: boolean;
  /** Where lines go (stderr by default, so stdout stays for results). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Overrides the stream's own answer: a live rewritten line (true) or throttled log lines (false). */
  tty?: boolean;
  /** The clock the throttle reads (tests pass a fake one). */
  now?: () => number;
}

/** A sink that renders on a terminal or a log; `clear()` takes the live line away before others print. */
export type ConsoleProgress = ProgressSink & { clear(): void };

/** `60/240 s`, `cycles 40/120`, `95 s left of 120 s`, with the detail after a colon. */
export function formatProgress(update: ProgressUpdate): string {
  const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));
  const parts = [update.what];
  const counted = update.done !== undefined || update.total !== undefined;
  if (counted) {
    // A total without a count: the work is known, its progress is not (yet).
    const count = `${update.done ?? '?'}${update.total !== undefined ? `/${update.total}` : ''}`;
    parts.push(update.unit ? `${count} ${update.unit}` : count);
  }
  let time: string;
  if (update.limitMs !== undefined && update.countdown) {
    time = `${seconds(update.limitMs - update.elapsedMs)} s left of ${seconds(update.limitMs)} s`;
  } else if (update.limitMs !== undefined) {
    time = `${seconds(update.elapsedMs)}/${seconds(update.limitMs)} s`;
  } else {
    time = `${seconds(update.elapsedMs)} s`;
  }
  parts.push(counted || update.countdown ? `(${time})` : time);
  const text = parts.join(' ');
  return update.detail ? `${text}: ${update.detail}` : text;
}

function endLine(update: ProgressUpdate): string {
  const count =
    update.done !== undefined
      ? ` at ${update.total !== undefined ? `${update.done}/${update.total}` : update.done} ${update.unit ?? ''}`.trimEnd()
      : '';
  return `${update.what}: ended after ${Math.round(update.elapsedMs / 1000)} s${count}`;
}

function plainLine(event: Exclude<ProgressEvent, ProgressUpdate>, verbose: boolean): string | undefined {
  switch (event.kind) {
    case 'step':
      return `[${event.scope}] ${event.message}`;
    case 'log':
      return verbose ? `[${event.scope}]   ${event.line}` : undefined;
    case 'done':
      return `[${event.scope}] ${event.message} (${(event.durationMs / 1000).toFixed(1)} s)`;
    case 'warn':
      return `[${event.scope}] warning: ${event.message}`;
  }
}

/**
 * Renders events on stderr. On a terminal, every scope with a wait in
 * progress shares one live line, rewritten in place (\r and clear), and other
 * lines are printed above it. In a log (CI), a wait gets a line once it has
 * lasted LOG_QUIET_FOR_MS, then at most one every LOG_LINE_EVERY_MS per scope,
 * and an end line; shorter waits print nothing of their own. Several scopes
 * (targets on several hosts) are tracked side by side.
 */
export function consoleProgress(options: ConsoleProgressOptions = {}): ConsoleProgress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const now = options.now ?? Date.now;
  const verbose = options.verbose ?? false;
  const active = new Map<string, ProgressUpdate>();
  const logged = new Map<string, { what: string; firstSeen: number; lastLine?: number }>();
  let live = '';

  const liveText = () => {
    const text = [...active.entries()].map(([scope, update]) => `[${scope}] ${formatProgress(update)}`).join('  |  ');
    // A pseudo-terminal without a size says 0 columns.
    const width = Math.max(20, (stream.columns || 120) - 1);
    return text.length > width ? `${text.slice(0, width - 1)}…` : text;
  };
  const redraw = () => {
    const text = liveText();
    if (text === live) return;
    stream.write(`${CLEAR_LINE}${text}`);
    live = text;
  };
  const clear = () => {
    if (live === '') return;
    stream.write(CLEAR_LINE);
    live = '';
  };
  const print = (line: string) => {
    if (tty) {
      clear();
      stream.write(`${line}\n`);
      redraw();
    } else {
      stream.write(`${line}\n`);
    }
  };

  const onTty = (update: ProgressUpdate) => {
    if (update.end) active.delete(update.scope);
    else active.set(update.scope, update);
    redraw();
  };
  const onLog = (update: ProgressUpdate) => {
    const at = now();
    let seen = logged.get(update.scope);
    if (!seen || seen.what !== update.what) {
      seen = { what: update.what, firstSeen: at - update.elapsedMs };
      logged.set(update.scope, seen);
    }
    if (update.end) {
      logged.delete(update.scope);
      if (seen.lastLine !== undefined) stream.write(`[${update.scope}] ${endLine(update)}\n`);
      return;
    }
    const due = seen.lastLine === undefined ? at - seen.firstSeen >= LOG_QUIET_FOR_MS : at - seen.lastLine >= LOG_LINE_EVERY_MS;
    if (!due) return;
    seen.lastLine = at;
    stream.write(`[${update.scope}] ${formatProgress(update)}\n`);
  };

  const sink: ProgressSink = (event) => {
    if (event.kind === 'progress') {
      if (tty) onTty(event);
      else onLog(event);
      return;
    }
    const line = plainLine(event, verbose);
    if (line !== undefined) print(line);
  };
  return Object.assign(sink, { clear });
}
