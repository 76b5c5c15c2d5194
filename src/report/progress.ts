/**
 * Structured progress: every slow step reports events; one reporter renders
 * them. Library code never prints; it calls the sink it was given.
 */
export type ProgressEvent =
  | { kind: 'step'; scope: string; message: string }
  | { kind: 'log'; scope: string; line: string }
  | { kind: 'done'; scope: string; message: string; durationMs: number }
  | { kind: 'warn'; scope: string; message: string }
  | ProgressUpdate;

/**
 * How far a wait or a count has got, sent again and again while it lasts
 * (trackProgress sends one a second), and once more with `end` set. Which
 * fields are present says what is known: a count (`done`/`total` `unit`, the
 * cycles of a program the runner can read while it runs), a bound
 * (`limitMs`: "60/240 s"; with `countdown`, the time left to it), or only the
 * time so far. `detail` is the latest line of the work (an image build's).
 */
export interface ProgressUpdate {
  kind: 'progress';
  scope: string;
  /** What is being waited for, in words: "waiting for the agent", "cycles". */
  what: string;
  /** Since the wait began. */
  elapsedMs: number;
  limitMs?: number;
  countdown?: boolean;
  done?: number;
  total?: number;
  unit?: string;
  detail?: string;
  /** The wait is over (reached, failed or abandoned): the last update of this scope's wait. */
  end?: boolean;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const silentProgress: ProgressSink = () => {};

export { consoleProgress, type ConsoleProgress } from './progress-renderer.ts';
