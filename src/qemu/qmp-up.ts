import type { Duplex } from 'node:stream';
import { basename } from 'node:path';
import { StopWaiting, waitFor, type WaitOptions } from '../wait/wait-for.ts';
import { QmpClient } from './qmp-client.ts';

/**
 * Waits until QEMU's monitor socket greets and accepts `qmp_capabilities`,
 * and returns the client. `exitReason` says whether QEMU is gone (then
 * waiting longer cannot help, and the wait ends with that reason).
 */
export async function waitForQmp(
  path: string,
  options: WaitOptions & {
    exitReason: () => string | undefined;
    open?: (path: string, signal: AbortSignal | undefined) => Promise<Duplex>;
  },
): Promise<QmpClient> {
  return waitFor(
    `QEMU's monitor (${basename(path)}) to answer`,
    (signal) => {
      const gone = options.exitReason();
      if (gone) throw new StopWaiting(new Error(`QEMU exited before QMP answered: ${gone}`));
      return QmpClient.connect(path, { signal, open: options.open });
    },
    { ...options, firstDelayMs: 20, maxDelayMs: 200, attemptTimeoutMs: 5_000 },
  );
}
