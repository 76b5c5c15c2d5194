import { readFile } from 'node:fs/promises';
import { buildGuestApps } from '../guest-apps/build.ts';
import type { GuestAppName } from '../guest-apps/guest-app-table.ts';
import type { ProgramSource } from '../targets/prepare-target.ts';
import type { TargetHandle } from '../targets/target-handle.ts';

const DEPLOYED = new WeakMap<TargetHandle, Map<GuestAppName, string>>();

export function guestPath(handle: TargetHandle, file: string): string {
  return `${handle.guestWorkDir}\\${file}`;
}

/** Builds the program (or finds it up to date) and reads it: for callers without a prepared target's programs. */
export const buildAndRead: ProgramSource = async (name, options) => {
  const [built] = await buildGuestApps({ only: [name], signal: options.signal });
  if (!built) throw new Error(`buildGuestApps returned nothing for ${name}`);
  return readFile(built.path);
};

/**
 * Copies a guest program into the guest once per handle; returns its path in
 * the guest. `source` gives its bytes: a prepared target's programs (built
 * once, before any guest), or a build on the spot.
 */
export async function deployGuestApp(
  handle: TargetHandle,
  name: GuestAppName,
  options: { signal?: AbortSignal; source?: ProgramSource } = {},
): Promise<string> {
  let deployed = DEPLOYED.get(handle);
  if (!deployed) DEPLOYED.set(handle, (deployed = new Map<GuestAppName, string>()));
  const known = deployed.get(name);
  if (known) return known;
  const call = { signal: options.signal };
  const target = guestPath(handle, `${name}.exe`);
  await handle.agent.putFile(target, await (options.source ?? buildAndRead)(name, call), call);
  deployed.set(name, target);
  return target;
}
