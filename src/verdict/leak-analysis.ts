import type { ConnectFailureCause } from '../model/run-results.ts';
import { formatEndpoint, type SocketRow, type SocketTable, type TableSource } from '../model/socket-table.ts';
import type { TcpState } from '../model/tcp-state.ts';
import type { ScenarioObservation, Snapshot, TableCapture } from '../model/scenario-observation.ts';
import { WSAEADDRINUSE, WSAENOBUFS } from './winsock-errors.ts';

/**
 * States in which a connection still holds a slot of the socket table. The KB
 * names CLOSE_WAIT and FIN_WAIT_2 (one side closed, the other never will);
 * ESTABLISHED is a connection nobody closed. TIME_WAIT is the normal end of a
 * closed connection and never counts as a leak.
 */
export const HELD_STATES: readonly TcpState[] = ['ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_2'];

/**
 * A scenario leaks when at least this share of the connections its cycles
 * opened are still held: a leaking Win9x stack keeps every one (the KB), so
 * half leaves room for the cycles that ran into the full table while still
 * telling a real leak from a stray socket. Anything above zero and below it is
 * a partial leak, which matches neither prediction.
 */
export const LEAK_FRACTION = 0.5;

/** Win9x's socket table counts as full when held sockets fill at least this share of MaxConnections. */
export const TABLE_FULL_FRACTION = 0.5;
export const DEFAULT_MAX_CONNECTIONS = 100;

/**
 * Ephemeral ports count as run out when TIME_WAIT sockets sit on at least this
 * share of the ephemeral range (1024..MaxUserPort, default 5000: thousands of
 * ports) — the NT failure of KB Q196271, not this bug.
 */
export const PORT_EXHAUSTION_FRACTION = 0.5;
export const FIRST_EPHEMERAL_PORT = 1024;
export const DEFAULT_MAX_USER_PORT = 5000;

export interface LeakCount {
  source: TableSource;
  /** Connections to the peer held at the snapshot that were not held before the scenario. */
  leaked: number;
  rows: SocketRow[];
  /** The snapshot counted in, and the table of it the rows come from. */
  snapshot: Snapshot;
  capture: TableCapture;
}

/** The capture to count in: tcptab sees every state (Wine's NETSTAT omits FIN_WAIT_2), so it wins when both snapshots have it. */
function pickCaptures(before: Snapshot, at: Snapshot): { before: TableCapture; at: TableCapture } {
  if (before.tcptab !== undefined && at.tcptab !== undefined) return { before: before.tcptab, at: at.tcptab };
  return { before: before.netstat, at: at.netstat };
}

function toPeer(row: SocketRow, peer: { addr: string; port: number }): boolean {
  return row.proto === 'TCP' && row.foreign.port === peer.port && row.foreign.addr === peer.addr;
}

const connectionKey = (row: SocketRow): string => `${formatEndpoint(row.local)}>${formatEndpoint(row.foreign)}`;

export function isHeld(row: SocketRow): boolean {
  return row.state !== null && HELD_STATES.includes(row.state);
}

/** Held connections from the guest to the peer at `at` that were not already held in `before`. */
export function countLeaked(before: Snapshot, at: Snapshot, peer: { addr: string; port: number }): LeakCount {
  const captures = pickCaptures(before, at);
  const heldBefore = new Set(captures.before.table.rows.filter((row) => toPeer(row, peer) && isHeld(row)).map(connectionKey));
  const rows = captures.at.table.rows.filter((row) => toPeer(row, peer) && isHeld(row) && !heldBefore.has(connectionKey(row)));
  return { source: captures.at.table.source, leaked: rows.length, rows, snapshot: at, capture: captures.at };
}

/**
 * The peer's own end of one of the program's connections: local is the peer,
 * foreign is a port the program's connect events reported. A table shows it
 * where the peer shares the guest's stack (on `wine`, socat in the same
 * container). The peer closes first as soon as it has read the child's bytes,
 * so when the guest closes late (the late-close workaround) its own end ends
 * in a passive close and leaves no row, while the peer's end waits out
 * TIME_WAIT.
 */
function fromPeer(row: SocketRow, peer: { addr: string; port: number }, localPorts: ReadonlySet<number>): boolean {
  return (
    row.proto === 'TCP' &&
    row.local.port === peer.port &&
    row.local.addr === peer.addr &&
    row.foreign.port !== null &&
    localPorts.has(row.foreign.port)
  );
}

/**
 * The scenario's connections in any state (TIME_WAIT and closing ones too) at
 * `at` that were not in the table before: the positive sign that the table
 * saw them at all. A row counts from either end: the guest's end (foreign is
 * the peer) or the peer's end of a connection whose guest port is in
 * `localPorts` (the ports the program's connect events reported). tcptab
 * wins as in countLeaked.
 */
export function newPeerRows(
  before: Snapshot,
  at: Snapshot,
  peer: { addr: string; port: number },
  localPorts: ReadonlySet<number> = new Set(),
): SocketRow[] {
  const captures = pickCaptures(before, at);
  const ours = (row: SocketRow) => toPeer(row, peer) || fromPeer(row, peer, localPorts);
  const seen = new Set(captures.before.table.rows.filter(ours).map(connectionKey));
  return captures.at.table.rows.filter((row) => ours(row) && !seen.has(connectionKey(row)));
}

/** Rows to the peer in any state: what evidence quotes when nothing was held. */
export function peerRows(table: SocketTable, peer: { addr: string; port: number }): SocketRow[] {
  return table.rows.filter((row) => toPeer(row, peer));
}

export function heldTotal(table: SocketTable): number {
  return table.rows.filter(isHeld).length;
}

export function timeWaitPorts(table: SocketTable): { rows: number; distinctLocalPorts: number } {
  const rows = table.rows.filter((row) => row.state === 'TIME_WAIT');
  return { rows: rows.length, distinctLocalPorts: new Set(rows.map((row) => row.local.port)).size };
}

/**
 * Why a connect() failed, judged from the table next to it. `held`: the held
 * connections that count towards a full table. For the scenario's own failure
 * that is only its connections to the peer that are new since "before" (a
 * table filled by other programs or by an earlier scenario is not this
 * scenario's leak); for a failure before the scenario began, every held row.
 */
export function classifyConnectFailure(
  error: number,
  held: number,
  table: SocketTable,
  settings: ScenarioObservation['settings'],
): ConnectFailureCause {
  const capacity = settings.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const tableFull = held >= TABLE_FULL_FRACTION * capacity;
  if (error === WSAENOBUFS && tableFull) return 'socket-table-full';
  const range = (settings.maxUserPort ?? DEFAULT_MAX_USER_PORT) - FIRST_EPHEMERAL_PORT + 1;
  const portsGone = timeWaitPorts(table).distinctLocalPorts >= PORT_EXHAUSTION_FRACTION * range;
  if ((error === WSAENOBUFS || error === WSAEADDRINUSE) && portsGone && !tableFull) return 'ephemeral-ports-exhausted';
  return 'unexplained';
}

/** The smallest leaked count that makes a leak out of `connectionsOpened` connections. */
export function leakThreshold(connectionsOpened: number): number {
  return Math.max(1, Math.ceil(LEAK_FRACTION * connectionsOpened));
}
