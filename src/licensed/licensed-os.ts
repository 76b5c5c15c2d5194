import { loadVmSpec } from '../config/load-vm-spec.ts';
import { loadTargetSpecs } from '../config/target-list.ts';
import type { QemuVmSpec } from '../config/vm-spec.ts';
import { ConfigError } from '../errors.ts';
import type { OsFamily } from '../os/os-family.ts';
import { familyOf, osProfile, type InstallProfile, type OsProfile } from '../os/os-profiles.ts';
import type { LicensedTarget } from './licensed-config.ts';

/**
 * A licensed target with its OS profile resolved: everything install,
 * preparation and setup media branch on (the family's autostart and logon,
 * the OS's answer file, install route and MaxConnections type) comes from
 * here, so no code in licensed/ asks which target it was given.
 */
export interface LicensedOs {
  target: LicensedTarget;
  spec: QemuVmSpec;
  os: OsProfile;
  family: OsFamily;
  install: InstallProfile;
}

export async function loadLicensedOs(target: LicensedTarget, options: { root?: string; signal?: AbortSignal } = {}): Promise<LicensedOs> {
  const spec = await loadVmSpec(target, options);
  return licensedOsOf(spec);
}

/** The profile of an already-loaded spec; throws for a target that is not a licensed QEMU guest with an install profile. */
export function licensedOsOf(spec: Awaited<ReturnType<typeof loadVmSpec>>): LicensedOs {
  const file = `vms/${spec.target}/spec.json`;
  if (spec.kind !== 'qemu' || !spec.licensed) {
    throw new ConfigError(`${spec.target} is not a licensed target (${file} needs "kind": "qemu" and "licensed": true)`, {
      context: { target: spec.target },
    });
  }
  const os = osProfile(spec.os);
  if (!os.install) {
    throw new ConfigError(`${file}: os "${spec.os}" has no install profile in src/os/os-profiles.ts, so it cannot be a licensed target`, {
      context: { target: spec.target },
    });
  }
  return { target: spec.target, spec, os, family: familyOf(spec.os), install: os.install };
}

/** The licensed targets whose OS is of this family, for messages that say which target fits. */
export async function targetsOfFamily(family: 'win9x' | 'nt', options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const names: string[] = [];
  for (const spec of await loadTargetSpecs(options)) {
    if (!spec.licensed || spec.kind !== 'qemu') continue;
    if ((await loadLicensedOs(spec.target, options)).family.name === family) names.push(spec.target);
  }
  return names;
}
