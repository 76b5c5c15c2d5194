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

/**
 * The longest the settle's looks may hold the "after" snapshot back once the
 * program exited; looks the series still lacks come after "after". A clean
 * run shows its connections only as TIME_WAIT rows by then (60 s on Linux
 * under Wine), and ten looks on a loaded TCG guest took longer than that.
 */
export const SETTLE_LOOKS_MS = 15_000;

/**
 * The most of the time while the cycles run that the looks may take, by
 * default. A look is a program start in the guest (tcptab or NETSTAT, under
 * Wine through cmd.exe: two process starts), on the same vCPU and serial line
 * the cycles use; back to back (share 1) the looks take that time from the
 * cycles. The cost either way: `npm run bench -- sampler`.
 */
export const SAMPLE_SHARE = 0.2;

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
 *
 * While the cycles run, looks are paced (`due`): after a look that took t,
 * the next is due t·(1 − share)/share later, so the looks take at most
 * `share` of that time whatever a look costs on the guest at hand (a Wine
 * container's look is ten times cheaper than a TCG guest's).
 */
export class SocketSampler {
  readonly #handle: TargetHandle;
  readonly #family: Pick<OsFamily, 'snapshot'>;
  readonly #peer: { addr: string; port: number };
  readonly #source: TableSource;
  readonly #signal: AbortSignal | undefined;
  readonly #startedAt = performance.now();
  readonly #samples: SocketSample[] = [];
  readonly #share: number;
  #nextDueAt = 0;
  #error: string | undefined;

  constructor(
    handle: TargetHandle,
    options: {
      family: Pick<OsFamily, 'snapshot'>;
      peer: { addr: string; port: number };
      source: TableSource;
      /** The most of the time while cycles run that looks may take, 0 to 1 (SAMPLE_SHARE by default; 0: none until the settle). */
      share?: number;
      signal?: AbortSignal;
    },
  ) {
    const share = options.share ?? SAMPLE_SHARE;
    if (!(share >= 0 && share <= 1)) throw new RangeError(`SocketSampler: share ${share} is not between 0 and 1`);
    this.#share = share;
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

  /** Whether a paced look is due now (while cycles run): working, a share above 0 and the last look's pause over. */
  get due(): boolean {
    return this.working && this.#share > 0 && performance.now() >= this.#nextDueAt;
  }

  /** Takes one look at the table now. */
  async sample(phase: 'cycles' | 'settle', cycle: number): Promise<void> {
    if (!this.working) return;
    const started = performance.now();
    const label = `sample-${this.#samples.length}`;
    const options = { family: this.#family, signal: this.#signal };
    try {
      const capture =
        this.#source === 'tcptab' ? await captureTcptab(this.#handle, label, options) : await captureNetstat(this.#handle, label, options);
      if (capture === undefined) throw new Error('tcptab answered that iphlpapi is missing, though it worked for "before"');
      this.record(phase, cycle, capture);
      const took = performance.now() - started;
      this.#nextDueAt = this.#share > 0 ? performance.now() + (took * (1 - this.#share)) / this.#share : Number.POSITIVE_INFINITY;
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
