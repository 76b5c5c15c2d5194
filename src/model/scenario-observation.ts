import type { SocketSeries } from './socket-series.ts';
import type { SocketTable } from './socket-table.ts';
import type { ScenarioName } from './scenario-catalog.ts';

/** A table as the guest printed it and as parsed, so evidence can quote the original lines. */
export interface TableCapture {
  raw: string;
  table: SocketTable;
}

/** The guest's socket table at one moment: NETSTAT always, tcptab where iphlpapi exists. */
export interface Snapshot {
  netstat: TableCapture;
  tcptab?: TableCapture;
}

export interface CycleOutcome {
  /** 1-based, counted across all program runs of the scenario. */
  index: number;
  /** connect() to the peer succeeded, so the cycle opened a connection that must be closed again. */
  connected: boolean;
  /** Every step of the cycle succeeded. */
  ok: boolean;
  /** The first step that failed, with its Winsock or Win32 error code. */
  failure?: { step: string; error: number };
  /** The guest's port of the cycle's connection, where the program reports it. */
  localPort?: number;
}

export type ConnectOutcome = { ok: true } | { ok: false; error: number };

/**
 * Stack settings the run used; a lab may lower Win9x's MaxConnections to
 * reproduce faster, and the verdict's thresholds depend on it.
 */
export interface StackSettings {
  /** Win9x MSTCP MaxConnections (default 100). */
  maxConnections?: number;
  /** Highest ephemeral port (MaxUserPort, default 5000). */
  maxUserPort?: number;
  [name: string]: string | number | boolean | undefined;
}

/** The settings that have a value, as results.json records them. */
export function definedSettings(settings: StackSettings): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(settings).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined),
  );
}

/**
 * What the scenario runner saw while running one scenario on one target:
 * the snapshots, the program's per-cycle outcomes and its final connect().
 *
 * Snapshots: `before` ahead of the first program run; `during` after the
 * cycles while the program still holds its sockets (required for scenarios
 * whose leak is counted while running, see `LeakMeasurePoint`); `after` once
 * every program run has exited and the stack has settled (a clean stack needs
 * a moment to move its last connection out of FIN_WAIT_2).
 */
export interface ScenarioObservation {
  target: string;
  scenario: ScenarioName;
  /** The endpoint the guest connects to, as the guest sees it (10.0.2.2:PORT through slirp, 127.0.0.1:PORT for the loopback variant). */
  peer: { addr: string; port: number };
  cyclesPlanned: number;
  cycles: CycleOutcome[];
  /** The one connect() the program tries after its cycles; null when it never got that far. */
  finalConnect: ConnectOutcome | null;
  /** The program could not do its job for reasons outside the test (WSAStartup, starting a child, a pipe). */
  programFailure?: { step: string; error: number | null; message: string };
  snapshots: { before: Snapshot; during?: Snapshot; after: Snapshot };
  settings: StackSettings;
  /** The table sampled through the scenario: before, while the cycles ran, while the stack settled, after. */
  socketSeries?: SocketSeries;
}
