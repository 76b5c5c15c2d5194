import type { ProgressSink, ProgressUpdate } from './progress.ts';

/**
 * The waits of one scope as progress events. Wait strategies (src/wait) tell
 * `onWait(elapsedMs, limitMs, what)` every second while they last and nothing
 * when they end, so the reporter ends a wait when the next one begins (a QEMU
 * start waits for the serial socket, then QMP, then the agent's banner) and
 * on `end()` / leaving a `using` block. A wait over within its first second
 * reports nothing.
 */
export interface WaitReporter extends Disposable {
  readonly onWait: (elapsedMs: number, limitMs: number, what: string) => void;
  end(): void;
}

export function reportWaits(sink: ProgressSink, scope: string): WaitReporter {
  let last: ProgressUpdate | undefined;
  const end = () => {
    if (last) sink({ ...last, end: true });
    last = undefined;
  };
  return {
    onWait: (elapsedMs, limitMs, what) => {
      const label = `waiting for ${what}`;
      if (last && last.what !== label) end();
      last = { kind: 'progress', scope, what: label, elapsedMs, limitMs };
      sink(last);
    },
    end,
    [Symbol.dispose]: end,
  };
}
