import { ConfigError } from '../errors.ts';
import { IMPORT_GROUPS, type ImportGroup, type ImportGroupId } from '../os/import-groups.ts';
import { importVariants } from '../os/os-profiles.ts';

/**
 * Which DLLs and functions a guest program may import on each OS: the import
 * variants of the OS profiles (src/os/os-profiles.ts), over the groups of
 * src/os/import-groups.ts. Functions are imported by name: ordinals differ
 * between builds of the same DLL, so the audit rejects ordinal imports outright.
 */

export { IMPORT_GROUPS, type ImportGroup, type ImportGroupId };

/** `win95`, `win95-ws2`, `win98`, …: every OS (and OS with an update) a program can promise to run on. */
export type GuestOs = string;

export const GUEST_OSES: readonly GuestOs[] = importVariants().map((variant) => variant.id);

export interface OsImportPolicy {
  title: string;
  groups: readonly ImportGroupId[];
  /** Where the list of DLLs present on the OS comes from. */
  source: string;
}

export const OS_IMPORT_POLICIES: Readonly<Record<GuestOs, OsImportPolicy>> = Object.fromEntries(
  importVariants().map((variant) => [variant.id, { title: variant.title, groups: variant.groups, source: variant.source }]),
);

/** The OSes whose allowlist has this DLL: `ws2_32.dll` gives every OS with Winsock 2. */
export function osesWithDll(dll: string): GuestOs[] {
  return GUEST_OSES.filter((os) => allowedImports(os).dlls.has(dll.toLowerCase()));
}

export interface AllowedImports {
  /** Lower-case DLL name → function names (case-sensitive, as exported). */
  dlls: ReadonlyMap<string, ReadonlySet<string>>;
}

export function allowedImports(os: GuestOs): AllowedImports {
  const dlls = new Map<string, Set<string>>();
  const policy = OS_IMPORT_POLICIES[os];
  if (!policy)
    throw new ConfigError(`no import allowlist for ${JSON.stringify(os)}; the OSes are ${GUEST_OSES.join(', ')} (src/os/os-profiles.ts)`);
  for (const id of policy.groups) {
    const group: ImportGroup = IMPORT_GROUPS[id];
    const set = dlls.get(group.dll) ?? new Set<string>();
    for (const fn of group.functions) set.add(fn);
    dlls.set(group.dll, set);
  }
  return { dlls };
}

/** The OSes whose allowlist has this function, for messages that say where it would work. */
export function osesWithImport(dll: string, fn: string): GuestOs[] {
  return GUEST_OSES.filter((os) => allowedImports(os).dlls.get(dll.toLowerCase())?.has(fn) === true);
}
