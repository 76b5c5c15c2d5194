import type { TargetName } from '../config/vm-spec.ts';
import { prepareTarget, type PrepareOptions, type StartedTarget } from './prepare-target.ts';

export type { StartedTarget } from './prepare-target.ts';
export type StartOptions = PrepareOptions;

/**
 * Prepares a target and starts one guest of it, with the first-boot check
 * (the system the target is for, Winsock 2 or not): for callers that want a
 * single guest (tests, the bench). Throws TargetSkippedError for a licensed
 * target without a configured image, GuestMismatchError (after stopping the
 * guest) for an image of another system.
 */
export async function startTarget(target: TargetName, options: StartOptions): Promise<StartedTarget> {
  const prepared = await prepareTarget(target, options);
  return prepared.startGuest({ signal: options.signal });
}
