import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import type { QemuVmSpec } from '../../src/config/vm-spec.ts';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { ensureWineVmGuest, type WineVmGuest } from '../../src/images/wine-vm-disk.ts';

/** vms/wine-vm/spec.json, which must be a QEMU spec. */
export async function wineVmSpec(): Promise<QemuVmSpec> {
  const spec = await loadVmSpec('wine-vm');
  if (spec.kind !== 'qemu') throw new Error('vms/wine-vm/spec.json is not a QEMU spec');
  return spec;
}

/** The wine-vm guest (kernel, initramfs, disk) for the agent as built now: found in the cache, or built (minutes). */
export async function wineVmGuest(docker: DockerClient, options: { signal?: AbortSignal } = {}): Promise<WineVmGuest> {
  const [agent] = await buildGuestApps({ only: ['agent'], signal: options.signal });
  if (!agent) throw new Error('buildGuestApps returned no agent');
  return ensureWineVmGuest({ agentExe: agent.path, docker, signal: options.signal ?? AbortSignal.timeout(40 * 60_000) });
}
