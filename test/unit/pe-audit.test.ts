import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { GUEST_APPS } from '../../src/guest-apps/guest-app-table.ts';
import { undeclaredImports } from '../../src/guest-apps/declared-imports.ts';
import { guestAppPath as guestAppPathIn, guestBuildDir } from '../../src/guest-apps/paths.ts';
import { detectToolchain, MINGW_CFLAGS, MINGW_LDFLAGS, TOOLCHAIN_KINDS } from '../../src/guest-apps/toolchain.ts';
import { PeAuditError, PeFormatError } from '../../src/pe/errors.ts';
import { GUEST_OSES } from '../../src/pe/os-allowlists.ts';
import { assertPeSafe, auditPe } from '../../src/pe/pe-audit.ts';
import { DataDirectory, readPe, readPeFile, type PeImage } from '../../src/pe/pe-reader.ts';

const PROGRAMS = ['dupclose', 'duphandle', 'tcptab', 'agent'] as const;
let work: string;
/** The programs the crafted tests patch: the default toolchain's. */
let defaultDir: string;

function importedNames(image: PeImage, dll: string): string[] {
  const imp = image.imports.find((i) => i.dll.toLowerCase() === dll);
  return (imp?.functions ?? []).map((f) => (f.kind === 'name' ? f.name : `#${f.ordinal}`));
}

/** Offset of the optional header in a PE file. */
function optionalHeaderOffset(bytes: Buffer): number {
  return bytes.readUInt32LE(0x3c) + 24;
}

/** Compiles a one-file program with mingw; `crt` links the default C runtime, otherwise the lab's no-CRT flags. */
async function compile(name: string, source: string, options: { crt?: boolean; libs?: string[] } = {}): Promise<string> {
  const c = join(work, `${name}.c`);
  const exe = join(work, `${name}.exe`);
  await writeFile(c, source);
  const flags = options.crt ? [] : [...MINGW_CFLAGS, ...MINGW_LDFLAGS.filter((f) => f !== '-Wl,-e,_rt_entry@0'), '-Wl,-e,_entry@0'];
  await $({ quiet: true })`i686-w64-mingw32-gcc ${flags} -o ${exe} ${c} ${(options.libs ?? []).map((l) => `-l${l}`)}`;
  return exe;
}

const NO_CRT_ENTRY = `#include <windows.h>
void WINAPI entry(void);
`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'pe-audit-'));
  for (const toolchain of TOOLCHAIN_KINDS) await buildGuestApps({ only: PROGRAMS, toolchain });
  defaultDir = guestBuildDir((await detectToolchain()).kind);
}, 240_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(TOOLCHAIN_KINDS)('the real guest programs built with %s', (toolchain) => {
  const guestAppPath = (name: (typeof PROGRAMS)[number]) => guestAppPathIn(name, guestBuildDir(toolchain));

  it.each(PROGRAMS)('%s is PE32 i386, console subsystem 4.0, without TLS, and passes the audit for every OS it supports', async (name) => {
    const image = await assertPeSafe(guestAppPath(name), GUEST_APPS[name].supportedOs);
    expect(image.machine).toBe(0x14c);
    expect(image.subsystem).toBe(3);
    expect(image.subsystemVersion).toEqual({ major: 4, minor: 0 });
    expect(image.osVersion).toEqual({ major: 4, minor: 0 });
    expect(image.tls).toBeUndefined();
    expect(image.imports.map((i) => i.dll.toLowerCase()).sort()).toEqual([...GUEST_APPS[name].libs].map((l) => `${l}.dll`).sort());
  });

  it('dupclose uses the Winsock 2 calls through ws2_32 and so is refused for Windows 95 retail', async () => {
    const image = await readPeFile(guestAppPath('dupclose'));
    // WSAEnumProtocolsA: the provider choice of KB Q216603 (guest-apps/provider/).
    expect(importedNames(image, 'ws2_32.dll')).toEqual(
      expect.arrayContaining(['WSADuplicateSocketA', 'WSAEnumProtocolsA', 'WSASocketA', 'closesocket']),
    );
    const problems = auditPe(image, ['win95']);
    expect(problems).toEqual([
      {
        kind: 'dll',
        os: 'win95',
        dll: 'ws2_32.dll',
        message: expect.stringContaining('imports ws2_32.dll, which is not on the win95 allowlist') as string,
      },
    ]);
  });

  it('duphandle imports nothing from ws2_32 and is accepted on Windows 95 retail', async () => {
    const image = await readPeFile(guestAppPath('duphandle'));
    expect(importedNames(image, 'ws2_32.dll')).toEqual([]);
    expect(importedNames(image, 'wsock32.dll')).toEqual(expect.arrayContaining(['socket', 'connect', 'closesocket']));
    // A Winsock 1.1 program keeps socket(); wsock32 has no WSAEnumProtocolsA on Windows 95.
    expect(importedNames(image, 'wsock32.dll')).not.toContain('WSAEnumProtocolsA');
    expect(importedNames(image, 'kernel32.dll')).toContain('DuplicateHandle');
    expect(auditPe(image, ['win95'])).toEqual([]);
  });

  it('tcptab links only kernel32 (iphlpapi is loaded at run time) and is accepted everywhere', async () => {
    const image = await readPeFile(guestAppPath('tcptab'));
    expect(image.imports.map((i) => i.dll.toLowerCase())).toEqual(['kernel32.dll']);
    expect(importedNames(image, 'kernel32.dll')).toEqual(expect.arrayContaining(['LoadLibraryA', 'GetProcAddress']));
    expect(auditPe(image, GUEST_OSES)).toEqual([]);
  });
});

describe('crafted bad programs', () => {
  it('rejects a default mingw build: msvcrt.dll on every OS, and its TLS directory', async () => {
    const exe = await compile('with-crt', '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n', { crt: true });
    const problems = auditPe(await readPeFile(exe), GUEST_OSES);
    for (const os of GUEST_OSES) {
      expect(problems).toContainEqual(expect.objectContaining({ kind: 'dll', os, dll: 'msvcrt.dll' }));
    }
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'tls', message: expect.stringContaining('TLS directory') as string }));
    await expect(assertPeSafe(exe, ['win95'])).rejects.toThrow(/imports msvcrt\.dll, which is not on the win95 allowlist/);
  });

  it("catches Open Watcom's C runtime by its imports: clib brings USER32!CharUpperA, which the allowlists alone accept", async () => {
    const ow = await detectToolchain({ choice: 'watcom' });
    if (ow.kind !== 'watcom') throw new Error('expected Open Watcom');
    await writeFile(join(work, 'clib.c'), '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    await $({
      quiet: true,
      cwd: work,
      env: { ...process.env, WATCOM: ow.root, INCLUDE: `${ow.root}/h:${ow.root}/h/nt`, PATH: `${ow.bin}:${process.env.PATH ?? ''}` },
    })`${join(ow.bin, 'wcl386')} -q -bt=nt -l=nt -fe=clib.exe clib.c`;
    const image = await readPeFile(join(work, 'clib.exe'));
    expect(importedNames(image, 'user32.dll')).toContain('CharUpperA');
    // The old check: CharUpperA exists on every OS, so the allowlists pass it.
    expect(auditPe(image, GUEST_OSES).filter((p) => p.kind === 'dll' && p.dll === 'user32.dll')).toEqual([]);
    expect(undeclaredImports(image, ['kernel32'])).toEqual([expect.stringMatching(/^USER32\.DLL!.*CharUpperA/)]);
    expect(undeclaredImports(image, ['kernel32', 'user32'])).toEqual([]);
  }, 60_000);

  it('rejects a no-CRT program that links msvcrt for one function, naming the DLL and the OS', async () => {
    const exe = await compile(
      'msvcrt-strlen',
      `${NO_CRT_ENTRY}unsigned strlen(const char *);\nvoid WINAPI entry(void) { ExitProcess(strlen("x")); }\n`,
      { libs: ['msvcrt', 'kernel32'] },
    );
    const error = await assertPeSafe(exe, ['win98']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeAuditError);
    expect((error as PeAuditError).message).toContain('imports msvcrt.dll, which is not on the win98 allowlist');
    expect((error as PeAuditError).message).toContain(exe);
  });

  it('rejects a function that exists on NT but not on Windows 95, naming DLL, function and OS', async () => {
    const exe = await compile(
      'sethandleinfo',
      `${NO_CRT_ENTRY}void WINAPI entry(void) { SetHandleInformation(GetStdHandle(STD_OUTPUT_HANDLE), HANDLE_FLAG_INHERIT, 0); ExitProcess(0); }\n`,
      { libs: ['kernel32'] },
    );
    const image = await readPeFile(exe);
    expect(auditPe(image, ['winnt4', 'wine'])).toEqual([]);
    const problems = auditPe(image, ['win95', 'win98']);
    expect(problems.map((p) => p.message)).toEqual([
      'imports kernel32.dll!SetHandleInformation, which is not on the win95 allowlist (Windows 95 retail/OSR2 (Winsock 1.1 only)); listed for winnt4, win2000, wine',
      'imports kernel32.dll!SetHandleInformation, which is not on the win98 allowlist (Windows 98); listed for winnt4, win2000, wine',
    ]);
  });

  it('rejects a static iphlpapi import on Windows 95 but accepts it on Windows 98', async () => {
    const exe = await compile(
      'static-iphlpapi',
      `${NO_CRT_ENTRY}DWORD WINAPI GetTcpTable(void *, DWORD *, BOOL);\nvoid WINAPI entry(void) { DWORD n = 0; ExitProcess(GetTcpTable(0, &n, TRUE)); }\n`,
      { libs: ['iphlpapi', 'kernel32'] },
    );
    const image = await readPeFile(exe);
    expect(auditPe(image, ['win98', 'winnt4'])).toEqual([]);
    expect(auditPe(image, ['win95'])).toEqual([expect.objectContaining({ kind: 'dll', os: 'win95', dll: 'iphlpapi.dll' })]);
  });

  it('rejects subsystem version 5.0 (patched into a real build)', async () => {
    const bytes = await readFile(guestAppPathIn('tcptab', defaultDir));
    const opt = optionalHeaderOffset(bytes);
    bytes.writeUInt16LE(5, opt + 48);
    const problems = auditPe(readPe(bytes, 'tcptab-subsystem-5.exe'), GUEST_OSES);
    expect(problems).toEqual([
      expect.objectContaining({
        kind: 'subsystem-version',
        major: 5,
        minor: 0,
        message: expect.stringContaining('subsystem version is 5.0') as string,
      }),
    ]);
  });

  it('rejects a TLS directory (patched into a real build)', async () => {
    const bytes = await readFile(guestAppPathIn('tcptab', defaultDir));
    const opt = optionalHeaderOffset(bytes);
    bytes.writeUInt32LE(0x4000, opt + 96 + DataDirectory.tls * 8);
    bytes.writeUInt32LE(24, opt + 100 + DataDirectory.tls * 8);
    const image = readPe(bytes, 'tcptab-tls.exe');
    expect(image.tls).toEqual({ rva: 0x4000, size: 24 });
    expect(auditPe(image, ['win95']).map((p) => p.kind)).toEqual(['tls']);
  });

  it('rejects a machine other than i386 (patched)', async () => {
    const bytes = await readFile(guestAppPathIn('tcptab', defaultDir));
    bytes.writeUInt16LE(0x8664, bytes.readUInt32LE(0x3c) + 4);
    expect(auditPe(readPe(bytes, 'x64.exe'), ['wine'])).toEqual([
      expect.objectContaining({ kind: 'machine', message: 'machine is 0x8664, not i386 (0x014c)' }),
    ]);
  });

  it('refuses files that are not PE32 images, saying where', async () => {
    expect(() => readPe(Buffer.from('#!/bin/sh\necho not a program\n'.padEnd(128)), 'script.exe')).toThrow(PeFormatError);
    expect(() => readPe(Buffer.from('#!/bin/sh\n'.padEnd(128)), 'script.exe')).toThrow(
      /script\.exe: not a readable PE32 image: no MZ signature/,
    );
    const bytes = await readFile(guestAppPathIn('tcptab', defaultDir));
    expect(() => readPe(bytes.subarray(0, 300), 'cut.exe')).toThrow(
      /cut\.exe: not a readable PE32 image: .* runs past the end of the file \(300 bytes\)/,
    );
  });
});
