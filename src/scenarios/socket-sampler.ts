import { errorMessage } from '../errors.ts';
import type { TableCapture } from '../model/scenario-observation.ts';
import type { SocketSample, SocketSeries } from '../model/socket-series.ts';
import type { TableSource } from '../model/socket-table.ts';
import type { TcpState } from '../model/tcp-state.ts';
import type { OsFamily } from '../os/os-family.ts';
import type { TargetHandle } from '../targets/target-handle.ts';
import { peerRows } from '../verdict/leak-analysis.ts';
import { captureNetstat, captureTcptab } from './snapshot.ts';

/** The fewest looks at the table a scenario's series gets between "before" and "after" (settling waits for the rest). */
export const MIN_SAMPLES = 10;

/** Cycles a dupclose/duphandle output reports finished so far: its `event=cycle` lines (every app's). */
export function cyclesReported(output: string): number {
  return output.match(/(?:^|\s)event=cycle\s/gm)?.length ?? 0;
}

/**
 * Looks at the guest's socket table again and again while a scenario runs and
 * keeps the connections to the peer per state, tagged with the cycles the
 * program had reported finished: the picture of a table filling (or not)
 * cycle by cycle.
 *
 * It reads the table the "before" snapshot has: tcptab where the guest has
 * iphlpapi (it sees every state), NETSTAT otherwise. Each look is one agent
 * request at a time between the runner's own, through programs that open no
 * socket, so it takes no slot of the table it measures. A look that fails is
 * recorded and ends the sampling; the scenario and its verdict go on without it.
 */
export class SocketSampler {
  readonly #handle: TargetHandle;
  readonly #family: Pick<OsFamily, 'snapshot'>;
  readonly #peer: { addr: string; port: number };
  readonly #source: TableSource;
  readonly #signal: AbortSignal | undefined;
  readonly #startedAt = performance.now();
  readonly #samples: SocketSample[] = [];
  #error: string | undefined;

  constructor(
    handle: TargetHandle,
    options: { family: Pick<OsFamily, 'snapshot'>; peer: { addr: string; port: number }; source: TableSource; signal?: AbortSignal },
  ) {
    this.#handle = handle;
    this.#family = options.family;
    this.#peer = options.peer;
    this.#source = options.source;
    this.#signal = options.signal;
  }

  get source(): TableSource {
    return this.#source;
  }

  /** Samples taken by `sample` (the snapshots recorded with `record` are not counted). */
  get taken(): number {
    return this.#samples.filter((sample) => sample.phase === 'cycles' || sample.phase === 'settle').length;
  }

  /** False once a look failed: the runner stops asking. */
  get working(): boolean {
    return this.#error === undefined;
  }

  /** Adds a table the runner took anyway (before, after). */
  record(phase: SocketSample['phase'], cycle: number, capture: TableCapture): void {
    const states: Partial<Record<TcpState, number>> = {};
    const rows = peerRows(capture.table, this.#peer);
    for (const row of rows) if (row.state !== null) states[row.state] = (states[row.state] ?? 0) + 1;
    this.#samples.push({ atMs: Math.round(performance.now() - this.#startedAt), phase, cycle, states, total: rows.length });
  }

  /** Takes one look at the table now. */
  async sample(phase: 'cycles' | 'settle', cycle: number): Promise<void> {
    if (!this.working) return;
    const label = `sample-${this.#samples.length}`;
    const options = { family: this.#family, signal: this.#signal };
    try {
      const capture =
        this.#source === 'tcptab' ? await captureTcptab(this.#handle, label, options) : await captureNetstat(this.#handle, label, options);
      if (capture === undefined) throw new Error('tcptab answered that iphlpapi is missing, though it worked for "before"');
      this.record(phase, cycle, capture);
    } catch (error) {
      this.#signal?.throwIfAborted();
      this.#error = `sample ${this.#samples.length + 1} (${this.#source}, ${phase}, cycle ${cycle}) failed: ${errorMessage(error)}`;
    }
  }

  series(): SocketSeries {
    return {
      source: this.#source,
      peer: `${this.#peer.addr}:${this.#peer.port}`,
      samples: [...this.#samples],
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
  }
}
