/**
 * Structured progress: every slow step reports events; one reporter renders
 * them. Library code never prints; it calls the sink it was given.
 */
export type ProgressEvent =
  | { kind: 'step'; scope: string; message: string }
  | { kind: 'log'; scope: string; line: string }
  | { kind: 'done'; scope: string; message: string; durationMs: number }
  | { kind: 'warn'; scope: string; message: string };

export type ProgressSink = (event: ProgressEvent) => void;

export const silentProgress: ProgressSink = () => {};

/** Renders events as plain lines on stderr, so stdout stays for results. */
export function consoleProgress(options: { verbose?: boolean } = {}): ProgressSink {
  return (event) => {
    switch (event.kind) {
      case 'step':
        process.stderr.write(`[${event.scope}] ${event.message}\n`);
        break;
      case 'log':
        if (options.verbose) process.stderr.write(`[${event.scope}]   ${event.line}\n`);
        break;
      case 'done':
        process.stderr.write(`[${event.scope}] ${event.message} (${(event.durationMs / 1000).toFixed(1)} s)\n`);
        break;
      case 'warn':
        process.stderr.write(`[${event.scope}] warning: ${event.message}\n`);
        break;
    }
  };
}
