import { countStates, type StateCounts, type TcpState } from './tcp-state.ts';

/**
 * An address and port as a table prints them; `port` is null for `*` (an
 * unbound UDP peer) and for a service name with no known number. `addr` may be
 * a host name, as written, in NETSTAT pasted without -n.
 */
export interface Endpoint {
  addr: string;
  port: number | null;
  /** The service name NETSTAT printed in place of the port (without -n), as written, e.g. `nbsession`. */
  service?: string;
}

export interface SocketRow {
  proto: 'TCP' | 'UDP';
  local: Endpoint;
  foreign: Endpoint;
  /** null for UDP, which has no connection state. */
  state: TcpState | null;
  /** Owning process where the source knows it (tcptab on iphlpapi's extended table); NETSTAT never does. */
  pid?: number;
  /** 1-based line in the source text, so evidence can quote the row as it was printed. */
  line: number;
  /** The row carries a host or service name instead of numbers (NETSTAT without -n, only in pasted text). */
  named?: true;
}

/** Which program printed the table: `netstat` (any Windows or Wine NETSTAT) or the lab's own `tcptab`. */
export const TABLE_SOURCES = ['netstat', 'tcptab'] as const;
export type TableSource = (typeof TABLE_SOURCES)[number];

export interface SocketTable {
  source: TableSource;
  rows: SocketRow[];
  /** TCP rows per state; UDP rows are counted in `udp`. */
  counts: StateCounts;
  udp: number;
}

export function socketTable(source: TableSource, rows: SocketRow[]): SocketTable {
  return {
    source,
    rows,
    counts: countStates(rows.filter((row) => row.proto === 'TCP').map((row) => row.state)),
    udp: rows.filter((row) => row.proto === 'UDP').length,
  };
}

export function formatEndpoint(endpoint: Endpoint): string {
  return `${endpoint.addr}:${endpoint.service ?? endpoint.port ?? '*'}`;
}
