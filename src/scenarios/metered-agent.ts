import type { GuestAgent } from '../agent/guest-agent.ts';
import type { TargetHandle } from '../targets/target-handle.ts';

/** The time a guest spent running what it was asked to, summed over the calls of one scenario. */
export interface GuestTimeMeter {
  ms: number;
  /**
   * Set while the scenario's program runs detached: its own run time is
   * added when it is over (scenario-runner.ts), and the execs meanwhile (the
   * sampler's looks) overlap it on the same guest, so they add nothing.
   */
  detached?: boolean;
}

/**
 * The same guest with an agent that adds the guest's own time to `meter`:
 * each exec's run time as the agent measured it in the guest, and NETSTAT's
 * whole call (the agent runs it and reports no time of its own), except
 * while a detached program's own time is counted instead. Everything else
 * (transfers, the host's work) is the orchestrator's overhead.
 */
export function meteredHandle<T extends TargetHandle>(handle: T, meter: GuestTimeMeter): T {
  const inner = handle.agent;
  const agent: GuestAgent = {
    ping: (...args) => inner.ping(...args),
    putFile: (...args) => inner.putFile(...args),
    getFile: (...args) => inner.getFile(...args),
    deleteFile: (...args) => inner.deleteFile(...args),
    sysinfo: (...args) => inner.sysinfo(...args),
    async exec(...args) {
      const result = await inner.exec(...args);
      if (!meter.detached) meter.ms += result.guestDurationMs;
      return result;
    },
    async execChecked(...args) {
      const result = await inner.execChecked(...args);
      if (!meter.detached) meter.ms += result.guestDurationMs;
      return result;
    },
    async netstat(...args) {
      const started = performance.now();
      try {
        return await inner.netstat(...args);
      } finally {
        if (!meter.detached) meter.ms += performance.now() - started;
      }
    },
  };
  return { ...handle, agent };
}
