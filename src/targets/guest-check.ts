import type { GuestSysinfo } from '../agent/agent-client.ts';
import type { VmSpec } from '../config/vm-spec.ts';
import type { ScenarioDefinition } from '../model/scenario-catalog.ts';
import { OS_PROFILES, identifyOsProfile, type OsName } from '../os/os-profiles.ts';
import { GuestMismatchError } from './errors.ts';

/** The guest operating systems the lab tells apart: every OS profile, by its first-boot facts (src/os/os-profiles.ts). */
export type SeenOs = OsName | 'unknown';

/** A guest program of guest-apps/ that a scenario runs. */
export type GuestProgram = ScenarioDefinition['program'];

/**
 * What the first-boot check learnt about a started guest: which system it
 * really runs, whether Winsock 2 is there, and so which test programs can run.
 */
export interface GuestFacts {
  os: SeenOs;
  /** For results and progress, e.g. `Windows 98 4.10.2222 A, Winsock 2`. */
  description: string;
  winsock2: boolean;
  /** `dupclose` needs ws2_32.dll (WSADuplicateSocket); `duphandle` runs on Winsock 1.1 (wsock32). */
  programs: readonly GuestProgram[];
}

function title(os: SeenOs): string {
  return os === 'unknown' ? 'an unknown system' : OS_PROFILES[os].title;
}

/**
 * Names the system from what the agent reports, by the first-boot facts of
 * the OS profiles (9x is platform 1 with 4.0, 4.10 or 4.90; NT 4 platform 2
 * with 4.0, 2000 with 5.0). Wine says which Windows version its prefix
 * pretends to be, so its own export decides first.
 */
export function identifyOs(info: GuestSysinfo): SeenOs {
  return (identifyOsProfile(info)?.name as OsName | undefined) ?? 'unknown';
}

function describe(os: SeenOs, info: GuestSysinfo): string {
  const version = `${info.major}.${info.minor}.${info.build}${info.csd.trim() ? ` ${info.csd.trim()}` : ''}`;
  const system =
    os !== 'unknown' && OS_PROFILES[os].firstBoot.kind === 'wine'
      ? `Wine ${info.wineVersion ?? '?'} (reports Windows ${version})`
      : `${title(os)} ${version}`;
  return `${system}, ${info.ws2_32 ? 'Winsock 2' : 'Winsock 1.1 only (no ws2_32.dll)'}`;
}

/**
 * The first-boot check: the guest must run the system its target is for (a
 * Windows 95 image configured as win98 would make every verdict a lie), and
 * a target whose system always has Winsock 2 must have ws2_32.dll. Throws
 * GuestMismatchError with what was seen and the fix.
 */
export function checkGuest(spec: VmSpec, info: GuestSysinfo): GuestFacts {
  const os = identifyOs(info);
  const description = describe(os, info);
  if (os !== spec.os) {
    const fix =
      OS_PROFILES[spec.os].family === 'wine'
        ? 'the wine targets run the images retrolab builds; rebuild them with `node bin/retrolab.js images build`'
        : `configure an image of ${title(spec.os)} for ${spec.target} (README: Licensed targets), or use this image with the target for ${title(os)} if there is one`;
    throw new GuestMismatchError(`${spec.target} expects ${title(spec.os)}, but the guest runs ${description}`, fix, {
      context: {
        target: spec.target,
        expected: spec.os,
        seen: os,
        platformId: info.platformId,
        major: info.major,
        minor: info.minor,
        build: info.build,
      },
    });
  }
  if (spec.winsock2 === true && !info.ws2_32) {
    throw new GuestMismatchError(
      `${spec.target}: ${title(os)} always ships ws2_32.dll, but the guest could not load it`,
      'repair the image (ws2_32.dll, ws2help.dll and their registry entries) or reinstall its networking components',
      { context: { target: spec.target } },
    );
  }
  const programs: GuestProgram[] = info.ws2_32 ? ['dupclose', 'duphandle'] : ['duphandle'];
  return { os, description, winsock2: info.ws2_32, programs };
}

/** Why a scenario cannot run on this guest, with the fix; undefined when it can. */
export function unsupportedScenario(facts: GuestFacts, definition: ScenarioDefinition): { reason: string; fix: string } | undefined {
  if (facts.programs.includes(definition.program)) return undefined;
  return {
    reason: `${definition.name} runs ${definition.program}, which needs WSADuplicateSocket from ws2_32.dll; the guest runs ${facts.description}`,
    fix: 'install "Windows Sockets 2 for Windows 95" (KB Q182108) in the image and prepare it again; duphandle-ws1 runs the same cycle, and leak-control-ws1 the positive control, on Winsock 1.1 meanwhile',
  };
}
