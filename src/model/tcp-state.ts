/**
 * TCP connection states under one spelling. Each dialect spells some of them
 * its own way (Win95's NETSTAT says SYN_SEND and TIMED_WAIT, NT's says
 * LISTENING, iphlpapi numbers them); every parser maps to these names so
 * counts from different targets can be compared.
 */
export const TCP_STATES = [
  'CLOSED',
  'LISTEN',
  'SYN_SENT',
  'SYN_RECEIVED',
  'ESTABLISHED',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'CLOSE_WAIT',
  'CLOSING',
  'LAST_ACK',
  'TIME_WAIT',
  'DELETE_TCB',
] as const;

export type TcpState = (typeof TCP_STATES)[number];

export type StateCounts = Record<TcpState, number>;

const SPELLINGS: Record<string, TcpState> = {
  CLOSED: 'CLOSED',
  LISTEN: 'LISTEN',
  LISTENING: 'LISTEN',
  SYN_SENT: 'SYN_SENT',
  SYN_SEND: 'SYN_SENT',
  SYN_RECEIVED: 'SYN_RECEIVED',
  SYN_RCVD: 'SYN_RECEIVED',
  SYN_RECV: 'SYN_RECEIVED',
  ESTABLISHED: 'ESTABLISHED',
  ESTAB: 'ESTABLISHED',
  FIN_WAIT_1: 'FIN_WAIT_1',
  FIN_WAIT1: 'FIN_WAIT_1',
  FIN_WAIT_2: 'FIN_WAIT_2',
  FIN_WAIT2: 'FIN_WAIT_2',
  CLOSE_WAIT: 'CLOSE_WAIT',
  CLOSING: 'CLOSING',
  LAST_ACK: 'LAST_ACK',
  TIME_WAIT: 'TIME_WAIT',
  TIMED_WAIT: 'TIME_WAIT',
  DELETE_TCB: 'DELETE_TCB',
};

/** The state a dialect's spelling stands for, or undefined when it names none. */
export function normalizeTcpState(spelling: string): TcpState | undefined {
  return SPELLINGS[spelling.toUpperCase()];
}

/** iphlpapi's MIB_TCP_STATE values (MIB_TCP_STATE_CLOSED = 1 … DELETE_TCB = 12). */
export function tcpStateFromMib(value: number): TcpState | undefined {
  return Number.isInteger(value) ? TCP_STATES[value - 1] : undefined;
}

export function emptyStateCounts(): StateCounts {
  return Object.fromEntries(TCP_STATES.map((state) => [state, 0])) as StateCounts;
}

export function countStates(states: Iterable<TcpState | null>): StateCounts {
  const counts = emptyStateCounts();
  for (const state of states) if (state !== null) counts[state] += 1;
  return counts;
}
