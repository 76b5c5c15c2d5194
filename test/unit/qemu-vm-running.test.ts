import { describe, expect, it } from 'vitest';
import type { VmStatus } from '../../src/qemu/qmp-client.ts';
import { GuestNotRunningError, waitForGuestRunning } from '../../src/qemu/vm-running.ts';
import { WaitTimeoutError } from '../../src/wait/wait-for.ts';

// The run states are QMP's answers; a real restore is in test/integration/qemu-vm.test.ts. Here the
// states a real QEMU rarely shows on demand (a restore that ends paused, one that never ends).

/** Answers query-status with the given states in turn, the last one for ever after. */
function statuses(...states: string[]) {
  let asked = 0;
  return {
    get asked() {
      return asked;
    },
    queryStatus: (): Promise<VmStatus> => {
      const status = states[Math.min(asked++, states.length - 1)]!;
      return Promise.resolve({ status, running: status === 'running' });
    },
  };
}

describe('waitForGuestRunning', () => {
  it('polls through inmigrate until the guest runs', async () => {
    const qmp = statuses('prelaunch', 'inmigrate', 'inmigrate', 'running');
    await waitForGuestRunning(qmp, { timeoutMs: 5_000, pollMs: 1 });
    expect(qmp.asked).toBe(4);
  });

  it('stops at once when the guest settles in another state, naming it', async () => {
    const qmp = statuses('inmigrate', 'paused');
    const error = await waitForGuestRunning(qmp, { timeoutMs: 5_000, pollMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestNotRunningError);
    expect((error as GuestNotRunningError).status).toBe('paused');
    expect(qmp.asked).toBe(2);
  });

  it('times out with the state it was still in', async () => {
    const qmp = statuses('inmigrate');
    const error = await waitForGuestRunning(qmp, { timeoutMs: 100, pollMs: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).message).toContain('the guest to run');
    expect((error as WaitTimeoutError).message).toContain('still "inmigrate"');
  });
});
