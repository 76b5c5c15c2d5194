import { PeAuditError } from './errors.ts';
import { allowedImports, osesWithImport, OS_IMPORT_POLICIES, type GuestOs } from './os-allowlists.ts';
import { MACHINE_I386, readPeFile, type PeImage } from './pe-reader.ts';

/** Windows 95 refuses images that ask for a newer subsystem than 4.0 ("requires a newer version of Windows"). */
export const MAX_SUBSYSTEM_VERSION = { major: 4, minor: 0 } as const;

const SUBSYSTEM_WINDOWS_GUI = 2;
const SUBSYSTEM_WINDOWS_CUI = 3;

export type AuditProblem =
  | { kind: 'machine'; machine: number; message: string }
  | { kind: 'subsystem'; subsystem: number; message: string }
  | { kind: 'subsystem-version'; major: number; minor: number; message: string }
  | { kind: 'tls'; message: string }
  | { kind: 'dll'; os: GuestOs; dll: string; message: string }
  | { kind: 'function'; os: GuestOs; dll: string; function: string; message: string }
  | { kind: 'ordinal'; dll: string; ordinal: number; message: string };

function hex(n: number, width = 4): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

/** Every reason the image would not load or run on one of the OSes; empty when it is Win95-safe for all of them. */
export function auditPe(image: PeImage, oses: readonly GuestOs[]): AuditProblem[] {
  const problems: AuditProblem[] = [];
  if (image.machine !== MACHINE_I386) {
    problems.push({ kind: 'machine', machine: image.machine, message: `machine is ${hex(image.machine)}, not i386 (0x014c)` });
  }
  if (image.subsystem !== SUBSYSTEM_WINDOWS_CUI && image.subsystem !== SUBSYSTEM_WINDOWS_GUI) {
    problems.push({
      kind: 'subsystem',
      subsystem: image.subsystem,
      message: `subsystem is ${image.subsystem}, not Windows console (3) or GUI (2)`,
    });
  }
  const { major, minor } = image.subsystemVersion;
  if (major > MAX_SUBSYSTEM_VERSION.major || (major === MAX_SUBSYSTEM_VERSION.major && minor > MAX_SUBSYSTEM_VERSION.minor)) {
    problems.push({
      kind: 'subsystem-version',
      major,
      minor,
      message: `subsystem version is ${major}.${minor}; Windows 95 and NT 4 load at most 4.0 (link with --subsystem,console:4.0)`,
    });
  }
  if (image.tls !== undefined) {
    problems.push({
      kind: 'tls',
      message: `has a TLS directory (RVA ${hex(image.tls.rva, 8)}, ${image.tls.size} bytes): Windows 9x runs no TLS callbacks (a C runtime's start-up relies on them); build without the C runtime (guest-apps/rt)`,
    });
  }
  for (const imp of image.imports) {
    const dll = imp.dll.toLowerCase();
    for (const fn of imp.functions) {
      if (fn.kind === 'ordinal') {
        problems.push({
          kind: 'ordinal',
          dll,
          ordinal: fn.ordinal,
          message: `imports ordinal ${fn.ordinal} from ${dll}: ordinals differ between Windows versions, import by name`,
        });
      }
    }
    for (const os of oses) {
      const allowed = allowedImports(os).dlls.get(dll);
      const title = OS_IMPORT_POLICIES[os]?.title ?? os;
      if (allowed === undefined) {
        problems.push({ kind: 'dll', os, dll, message: `imports ${dll}, which is not on the ${os} allowlist (${title})` });
        continue;
      }
      for (const fn of imp.functions) {
        if (fn.kind === 'name' && !allowed.has(fn.name)) {
          const elsewhere = osesWithImport(dll, fn.name);
          problems.push({
            kind: 'function',
            os,
            dll,
            function: fn.name,
            message:
              `imports ${dll}!${fn.name}, which is not on the ${os} allowlist (${title})` +
              (elsewhere.length > 0
                ? `; listed for ${elsewhere.join(', ')}`
                : '; listed for no OS (add it to a group in src/os/import-groups.ts with its source if it really exists)'),
          });
        }
      }
    }
  }
  return problems;
}

/** Reads and audits a built program; throws PeAuditError naming every problem. */
export async function assertPeSafe(path: string, oses: readonly GuestOs[], options: { signal?: AbortSignal } = {}): Promise<PeImage> {
  const image = await readPeFile(path, options);
  const problems = auditPe(image, oses);
  if (problems.length > 0) throw new PeAuditError(path, problems);
  return image;
}
