import { readFile } from 'node:fs/promises';
import { buildGuestApps } from '../guest-apps/build.ts';
import type { GuestAppName } from '../guest-apps/guest-app-table.ts';
import type { TargetHandle } from '../targets/target-handle.ts';

const DEPLOYED = new WeakMap<TargetHandle, Map<GuestAppName, string>>();

export function guestPath(handle: TargetHandle, file: string): string {
  return `${handle.guestWorkDir}\\${file}`;
}

/**
 * Builds (or reuses) a guest program and copies it into the guest once per
 * handle; returns its path in the guest.
 */
export async function deployGuestApp(handle: TargetHandle, name: GuestAppName, options: { signal?: AbortSignal } = {}): Promise<string> {
  let deployed = DEPLOYED.get(handle);
  if (!deployed) DEPLOYED.set(handle, (deployed = new Map<GuestAppName, string>()));
  const known = deployed.get(name);
  if (known) return known;
  const [built] = await buildGuestApps({ only: [name], ...(options.signal ? { signal: options.signal } : {}) });
  if (!built) throw new Error(`buildGuestApps returned nothing for ${name}`);
  const target = guestPath(handle, `${name}.exe`);
  await handle.agent.putFile(target, await readFile(built.path), options);
  deployed.set(name, target);
  return target;
}
