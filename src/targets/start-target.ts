import { loadVmSpec } from '../config/load-vm-spec.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { maxGuestFileBytes } from '../licensed/licensed-config.ts';
import { licensedReadiness } from '../licensed/readiness.ts';
import type { ProgressSink } from '../report/progress.ts';
import { TargetSkippedError } from './errors.ts';
import { startQemuTarget } from './qemu-target.ts';
import { checkGuest, type GuestFacts } from './guest-check.ts';
import type { TargetHandle } from './target-handle.ts';
import { startWineTarget } from './wine-target.ts';

export interface StartOptions {
  docker: DockerClient;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

/** A started target whose guest passed the first-boot check. */
export interface StartedTarget extends TargetHandle {
  readonly facts: GuestFacts;
}

/**
 * Starts any target, connects its agent and runs the first-boot check (the
 * system the target is for, Winsock 2 or not). Throws TargetSkippedError for a
 * licensed target without a configured image, GuestMismatchError (after
 * stopping the guest) for an image of another system.
 */
export async function startTarget(target: TargetName, options: StartOptions): Promise<StartedTarget> {
  const call = options.signal ? { signal: options.signal } : {};
  const spec = await loadVmSpec(target, call);
  const maxFileBytes = await maxGuestFileBytes(call);
  const limits = maxFileBytes !== undefined ? { maxFileBytes } : {};
  let handle: TargetHandle;
  if (spec.kind === 'wine-container') {
    handle = await startWineTarget({ ...options, ...limits });
  } else if (spec.licensed) {
    const readiness = await licensedReadiness(target, call);
    if (readiness.state !== 'ready') {
      throw new TargetSkippedError(target, `licensed target ${readiness.state}: ${readiness.reason}`, `${readiness.fix} (README: Licensed targets)`);
    }
    handle = await startQemuTarget(spec, { ...options, ...limits, image: readiness.image });
  } else {
    handle = await startQemuTarget(spec, { ...options, ...limits });
  }
  try {
    const facts = checkGuest(spec, await handle.agent.sysinfo(call));
    options.onProgress?.({ kind: 'step', scope: target, message: `guest: ${facts.description}; programs: ${facts.programs.join(', ')}` });
    return Object.assign(handle, { facts });
  } catch (error) {
    await handle[Symbol.asyncDispose]();
    throw error;
  }
}
