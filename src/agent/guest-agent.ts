import type { AgentClient } from './agent-client.ts';

/**
 * What scenario code asks of a guest's agent. AgentClient is the real one
 * (the serial protocol); unit tests of the orchestration give a fake that
 * plays a guest in memory, so runScenario, takeSnapshot and the matrix can be
 * tested without Docker or QEMU. Only the agent folder knows the wire.
 */
export type GuestAgent = Pick<AgentClient, 'ping' | 'putFile' | 'getFile' | 'deleteFile' | 'exec' | 'execChecked' | 'netstat' | 'sysinfo'>;
