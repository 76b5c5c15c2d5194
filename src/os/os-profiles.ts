import { FAMILY_PROFILES, type OsFamily, type OsFamilyName } from './os-family.ts';
import type { ImportGroupId } from './import-groups.ts';

/**
 * One entry per guest operating system, holding what differs between members
 * of a family: the version numbers the first-boot check expects, the answer
 * file and route of an unattended install, which DLLs and functions programs
 * may import, and how MSTCP MaxConnections is typed. A target's
 * `vms/<target>/spec.json` names its OS (`"os": "winme"`); adding an OS is a
 * `vms/<target>/` folder plus one entry here.
 */

/** A set of imports a program may use on an OS, as shipped or with an update. */
export interface ImportVariant {
  /** The name programs promise to run on (`win95`, `win95-ws2`). */
  id: string;
  title: string;
  groups: readonly ImportGroupId[];
  /** Where the list of DLLs present comes from. */
  source: string;
}

/**
 * How setup runs unattended:
 * - `dos-setup`: a DOS boot floppy (the user's startup disk) or the CD boots,
 *   and `setup <path>\MSBATCH.INF` runs (95/98/ME; KB Q178178, Q186111);
 * - `dos-winnt`: DOS on a FAT C: that holds the I386 folder, then
 *   `winnt /b /s:C:\I386 /u:C:\UNATTEND.TXT` (NT 4; KB Q155197, Q153768);
 * - `cd-winnt-sif`: the CD boots and setup reads WINNT.SIF from the floppy in
 *   A: (documented from Windows 2000 on; legacy-install-facts.md, Q3).
 */
export type InstallRoute = 'dos-setup' | 'dos-winnt' | 'cd-winnt-sif';

export interface InstallProfile {
  route: InstallRoute;
  /** Answer files, by the name they are written under. */
  answerFile: 'MSBATCH.INF' | 'UNATTEND.TXT' | 'WINNT.SIF';
  /** The blank disk's size in MB. */
  diskSizeMb: number;
  /** Most QEMU runs (each ended by setup's reboot) the install may take. */
  maxStages: number;
  /** The user's DOS boot floppy: required, optional (the CD may boot by itself), or not taken. */
  bootFloppy: 'required' | 'optional' | 'none';
}

/** The GetVersionEx numbers of the OS, as the agent's SYSINFO reports them; Wine's own export wins. */
export type FirstBootFacts = { kind: 'windows'; platformId: 1 | 2; major: number; minor: number } | { kind: 'wine' };

export interface OsProfile {
  name: string;
  title: string;
  family: OsFamilyName;
  firstBoot: FirstBootFacts;
  /** Absent: no unattended install (the open targets build their own guests). */
  install?: InstallProfile;
  /** The first variant is the OS as shipped. */
  imports: readonly [ImportVariant, ...ImportVariant[]];
  /**
   * MSTCP MaxConnections' registry type (9x only): a string on 98/ME and on 95
   * with the Winsock 2 update, a DWORD on plain 95 (legacy-windows.md, "Connection limit").
   */
  maxConnectionsType?: 'sz' | 'dword-without-winsock2';
  /**
   * 9x: AUTOEXEC.BAT runs real-mode programs at boot (95, 98). Me does not:
   * it reads only SET and PATH from it (KB Q269524, "Overview of Real Mode
   * Removal from Windows Millennium Edition").
   */
  realModeAutoexec?: boolean;
}

const WIN32_BASE: readonly ImportGroupId[] = [
  'kernel32-win32-base',
  'user32-win32-base',
  'advapi32-win32-base',
  'advapi32-security-stubs',
  'wsock32-winsock-1.1',
];
const WIN98_SET: readonly ImportGroupId[] = [...WIN32_BASE, 'kernel32-win98-additions', 'ws2_32-winsock-2', 'iphlpapi-first-release'];
const NT4_SET: readonly ImportGroupId[] = [
  ...WIN32_BASE,
  'kernel32-win98-additions',
  'kernel32-nt-only',
  'ws2_32-winsock-2',
  'iphlpapi-first-release',
];

/**
 * Disk sizes (legacy-windows.md, "Running them in QEMU"): FAT16 on 95
 * retail, so at most 2 GB; NT's system partition must stay under 7.8 GB, and
 * preparation needs it FAT (at most 2 GB for a FAT16 that 9x tools read too).
 * The stage bounds were not measured on real setups here; they leave room
 * above the two or three reboots the notes count (KB Q129260, Q155197, Q181357).
 */
export const OS_PROFILES = {
  win95: {
    name: 'win95',
    title: 'Windows 95',
    family: 'win9x',
    firstBoot: { kind: 'windows', platformId: 1, major: 4, minor: 0 },
    install: { route: 'dos-setup', answerFile: 'MSBATCH.INF', diskSizeMb: 2000, maxStages: 6, bootFloppy: 'optional' },
    imports: [
      {
        id: 'win95',
        title: 'Windows 95 retail/OSR2 (Winsock 1.1 only)',
        groups: WIN32_BASE,
        source: 'KB Q135539, Q158193, Q135540, Q158190: Winsock 1.1 only (wsock32), no ws2_32, no iphlpapi, no msvcrt',
      },
      {
        id: 'win95-ws2',
        title: 'Windows 95 with the Windows Sockets 2 update',
        groups: [...WIN32_BASE, 'ws2_32-winsock-2'],
        source: 'KB Q182108 (Ws2setup.exe), file list KB Q182381: adds ws2_32, mswsock, ws2help, msvcrt',
      },
    ],
    maxConnectionsType: 'dword-without-winsock2',
    realModeAutoexec: true,
  },
  win98: {
    name: 'win98',
    title: 'Windows 98',
    family: 'win9x',
    firstBoot: { kind: 'windows', platformId: 1, major: 4, minor: 10 },
    install: { route: 'dos-setup', answerFile: 'MSBATCH.INF', diskSizeMb: 2000, maxStages: 6, bootFloppy: 'optional' },
    imports: [
      {
        id: 'win98',
        title: 'Windows 98',
        groups: WIN98_SET,
        source: 'KB Q197017: ws2_32 4.10.1998, wsock32, msvcrt 5.00; iphlpapi (legacy-windows.md)',
      },
    ],
    maxConnectionsType: 'sz',
    realModeAutoexec: true,
  },
  winme: {
    name: 'winme',
    title: 'Windows Me',
    family: 'win9x',
    // GetVersionEx on Me: platform 1 (VER_PLATFORM_WIN32_WINDOWS), version 4.90 (MSDN OSVERSIONINFO).
    firstBoot: { kind: 'windows', platformId: 1, major: 4, minor: 90 },
    // MSBATCH-driven like 98: Intel's PUSHWME.TXT push-install guide and dockur/windows (legacy-install-facts.md, Q2); no Microsoft deployment document read.
    install: { route: 'dos-setup', answerFile: 'MSBATCH.INF', diskSizeMb: 2000, maxStages: 6, bootFloppy: 'optional' },
    imports: [
      {
        id: 'winme',
        title: 'Windows Me',
        groups: WIN98_SET,
        source:
          "unverified: 98's set (Me is built on the 98 code base and ships Winsock 2); no Microsoft file list of Me was read here, so the first real run's PE loader is the check",
      },
    ],
    maxConnectionsType: 'sz',
    realModeAutoexec: false,
  },
  winnt4: {
    name: 'winnt4',
    title: 'Windows NT 4.0',
    family: 'nt',
    firstBoot: { kind: 'windows', platformId: 2, major: 4, minor: 0 },
    install: { route: 'dos-winnt', answerFile: 'UNATTEND.TXT', diskSizeMb: 2000, maxStages: 5, bootFloppy: 'required' },
    imports: [
      {
        id: 'winnt4',
        title: 'Windows NT 4.0 (SP4 or later for iphlpapi)',
        groups: NT4_SET,
        source: 'KB Q196699: ws2_32 4.00, wsock32, msvcrt 4.20; iphlpapi from SP4 (legacy-windows.md, unverified)',
      },
    ],
  },
  win2000: {
    name: 'win2000',
    title: 'Windows 2000',
    family: 'nt',
    // GetVersionEx on 2000: platform 2 (VER_PLATFORM_WIN32_NT), version 5.0 (MSDN OSVERSIONINFO).
    firstBoot: { kind: 'windows', platformId: 2, major: 5, minor: 0 },
    install: { route: 'cd-winnt-sif', answerFile: 'WINNT.SIF', diskSizeMb: 2000, maxStages: 4, bootFloppy: 'none' },
    imports: [
      {
        id: 'win2000',
        title: 'Windows 2000',
        groups: NT4_SET,
        source:
          "unverified: NT 4's set (2000 is its successor and keeps its Win32 API, ws2_32 and iphlpapi); no Microsoft file list of 2000 was read here",
      },
    ],
  },
  wine: {
    name: 'wine',
    title: 'Wine',
    family: 'wine',
    firstBoot: { kind: 'wine' },
    imports: [
      {
        id: 'wine',
        title: 'Wine 8 (Debian bookworm)',
        groups: [...NT4_SET, 'iphlpapi-wine-extended'],
        source: 'Wine implements the NT API set; measured here (../shared/notes/environment.md)',
      },
    ],
  },
} as const satisfies Record<string, OsProfile>;

export type OsName = keyof typeof OS_PROFILES;
export const OS_NAMES = Object.keys(OS_PROFILES) as [OsName, ...OsName[]];

export function osProfile(os: OsName): OsProfile {
  return OS_PROFILES[os];
}

export function familyOf(os: OsName): OsFamily {
  return FAMILY_PROFILES[OS_PROFILES[os].family];
}

/** The version numbers a guest reports (the agent's SYSINFO), as far as identifying it needs. */
export interface ReportedVersion {
  platformId: number;
  major: number;
  minor: number;
  wineVersion?: string | undefined;
}

/** The OS whose first-boot facts match what the guest reports, or undefined for a system no profile describes. */
export function identifyOsProfile(info: ReportedVersion): OsProfile | undefined {
  const profiles: readonly OsProfile[] = Object.values(OS_PROFILES);
  if (info.wineVersion !== undefined) return profiles.find((p) => p.firstBoot.kind === 'wine');
  return profiles.find(
    (p) =>
      p.firstBoot.kind === 'windows' &&
      p.firstBoot.platformId === info.platformId &&
      p.firstBoot.major === info.major &&
      p.firstBoot.minor === info.minor,
  );
}

/**
 * The family a running guest belongs to, from what it reports: Wine by its
 * export, else the platform id (1 is 9x, 2 is NT), so a system no profile
 * names (XP, say) still gets its family's shell.
 */
export function familyOfReported(info: ReportedVersion): OsFamily {
  if (info.wineVersion !== undefined) return FAMILY_PROFILES.wine;
  return info.platformId === 1 ? FAMILY_PROFILES.win9x : FAMILY_PROFILES.nt;
}

/** Every import variant of every OS, by id (`win95`, `win95-ws2`, …, `wine`). */
export function importVariants(): ImportVariant[] {
  return Object.values(OS_PROFILES).flatMap((p: OsProfile) => [...p.imports]);
}
