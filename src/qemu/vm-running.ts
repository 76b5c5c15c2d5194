import { RetrolabError } from '../errors.ts';
import { StopWaiting, waitFor, type WaitOptions } from '../wait/wait-for.ts';
import type { QmpClient } from './qmp-client.ts';

/** The run states QEMU passes through on its way to running: an incoming migration says `inmigrate` until the state is loaded. */
const ON_THE_WAY = new Set(['inmigrate', 'prelaunch', 'restore-vm']);

/** The guest settled in a run state that is neither running nor on the way there (`paused`, `internal-error`, `shutdown`…). */
export class GuestNotRunningError extends RetrolabError {
  readonly status: string;

  constructor(status: string) {
    super(`the guest is "${status}", not running`, { context: { status } });
    this.status = status;
  }
}

/** Polls QMP `query-status` until the guest runs (a warm start restoring its saved state). */
export async function waitForGuestRunning(qmp: Pick<QmpClient, 'queryStatus'>, options: WaitOptions & { pollMs?: number }): Promise<void> {
  const pollMs = options.pollMs ?? 20;
  await waitFor(
    'the guest to run (QMP query-status)',
    async (signal) => {
      const { status, running } = await qmp.queryStatus({ signal });
      if (running) return;
      if (!ON_THE_WAY.has(status)) throw new StopWaiting(new GuestNotRunningError(status));
      throw new Error(`still "${status}"`);
    },
    { ...options, firstDelayMs: pollMs, maxDelayMs: pollMs },
  );
}
