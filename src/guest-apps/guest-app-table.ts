import { GUEST_OSES, osesWithDll, type GuestOs } from '../pe/os-allowlists.ts';

/**
 * The guest programs and how to build them, as data. Adding a program is one
 * entry: its sources, the import libraries it links and the OSes it promises
 * to run on (the PE audit holds it to that promise after every build).
 */
export interface GuestAppSpec {
  /** Output file name without `.exe`; also the key of the table. */
  name: string;
  summary: string;
  /** Repository-relative C files; an entry ending in `/*.c` takes every .c file of that folder, in sorted order. */
  sources: readonly string[];
  /** Repository-relative include folders. Every `.h` in them is part of the build's input hash. */
  includeDirs: readonly string[];
  /** Import libraries without prefix or suffix (`ws2_32`, not `-lws2_32` or `ws2_32.lib`). */
  libs: readonly string[];
  supportedOs: readonly GuestOs[];
}

const RT = 'guest-apps/rt/rt.c';
/** The provider choice of KB Q216603 (guest-apps/provider/provider.h). */
const PROVIDER = ['guest-apps/provider/choose.c', 'guest-apps/provider/enumerate.c'];
const ALL_OSES: readonly GuestOs[] = GUEST_OSES;

export const GUEST_APPS = {
  dupclose: {
    name: 'dupclose',
    summary: 'KB Q198663 cycle through WSADuplicateSocket (Winsock 2)',
    sources: ['guest-apps/dupclose/dupclose.c', 'guest-apps/cycle/cycle.c', ...PROVIDER, RT],
    includeDirs: ['guest-apps/rt', 'guest-apps/cycle', 'guest-apps/provider'],
    libs: ['ws2_32', 'kernel32'],
    // Every OS with Winsock 2 (so not Windows 95 without the update).
    supportedOs: osesWithDll('ws2_32.dll'),
  },
  duphandle: {
    name: 'duphandle',
    summary: 'the Winsock 1.1 variant through DuplicateHandle (wsock32 only)',
    sources: ['guest-apps/duphandle/duphandle.c', 'guest-apps/cycle/cycle.c', RT],
    includeDirs: ['guest-apps/rt', 'guest-apps/cycle'],
    libs: ['wsock32', 'kernel32'],
    supportedOs: ALL_OSES,
  },
  providers: {
    name: 'providers',
    summary: 'lists the Winsock 2 providers and the one dupclose makes its sockets on (KB Q216603)',
    sources: ['guest-apps/providers/providers.c', ...PROVIDER, RT],
    includeDirs: ['guest-apps/rt', 'guest-apps/provider'],
    libs: ['ws2_32', 'kernel32'],
    supportedOs: osesWithDll('ws2_32.dll'),
  },
  tcptab: {
    name: 'tcptab',
    summary: 'the TCP table through iphlpapi GetTcpTable, loaded at run time',
    sources: ['guest-apps/tcptab/tcptab.c', RT],
    includeDirs: ['guest-apps/rt'],
    libs: ['kernel32'],
    supportedOs: ALL_OSES,
  },
  agent: {
    name: 'agent',
    summary: 'the serial-line agent (guest-apps/agent/PROTOCOL.md)',
    sources: ['guest-apps/agent/*.c', RT],
    includeDirs: ['guest-apps/rt', 'guest-apps/agent'],
    libs: ['kernel32', 'user32', 'advapi32'],
    supportedOs: ALL_OSES,
  },
} as const satisfies Record<string, GuestAppSpec>;

export type GuestAppName = keyof typeof GUEST_APPS;

export const GUEST_APP_NAMES = Object.keys(GUEST_APPS) as GuestAppName[];

export function isGuestAppName(name: string): name is GuestAppName {
  return Object.hasOwn(GUEST_APPS, name);
}
