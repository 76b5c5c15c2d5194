import { z } from 'zod';
import { TABLE_SOURCES } from './socket-table.ts';
import { TCP_STATES } from './tcp-state.ts';

/**
 * Where in a scenario a look at the socket table was taken: `before` and
 * `after` are the scenario's own snapshots; `cycles` while the program ran its
 * cycles; `settle` after it exited, while the stack settles.
 */
export const SAMPLE_PHASES = ['before', 'cycles', 'settle', 'after'] as const;
export const socketSample = z.object({
  /** Milliseconds since the "before" snapshot was taken. */
  atMs: z.number().min(0),
  phase: z.enum(SAMPLE_PHASES),
  /** Cycles the program had reported finished (its output, read just before the sample). */
  cycle: z.number().int().min(0),
  /** Connections to the peer per state; states with none are left out. */
  states: z.partialRecord(z.enum(TCP_STATES), z.number().int().min(1)),
  /** Connections to the peer in any state. */
  total: z.number().int().min(0),
});
export type SocketSample = z.infer<typeof socketSample>;

/** The guest's connections to the scenario's peer over the scenario, from repeated looks at one table. */
export const socketSeries = z.object({
  source: z.enum(TABLE_SOURCES),
  /** The peer as the guest sees it (ADDR:PORT). */
  peer: z.string(),
  samples: z.array(socketSample),
  /** Why sampling stopped early (a look at the table failed); the scenario went on without it. */
  error: z.string().optional(),
});
export type SocketSeries = z.infer<typeof socketSeries>;
