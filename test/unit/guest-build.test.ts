import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrerequisiteError } from '../../src/errors.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { GUEST_APPS } from '../../src/guest-apps/guest-app-table.ts';
import { GUEST_BUILD_DIR, guestAppPath } from '../../src/guest-apps/paths.ts';
import { buildSteps, detectToolchain } from '../../src/guest-apps/toolchain.ts';

const PROGRAMS = ['dupclose', 'duphandle', 'tcptab'] as const;
let first: string;
let second: string;

beforeAll(async () => {
  first = await mkdtemp(join(tmpdir(), 'guest-build-a-'));
  second = await mkdtemp(join(tmpdir(), 'guest-build-b-'));
});

afterAll(async () => {
  await rm(first, { recursive: true, force: true });
  await rm(second, { recursive: true, force: true });
});

describe('buildGuestApps', () => {
  it('gives identical bytes for the same sources in two separate builds', async () => {
    const a = await buildGuestApps({ only: PROGRAMS, outDir: first, force: true });
    const b = await buildGuestApps({ only: PROGRAMS, outDir: second, force: true });
    for (const name of PROGRAMS) {
      const bytesA = await readFile(guestAppPath(name, first));
      const bytesB = await readFile(guestAppPath(name, second));
      expect(bytesA.length).toBeGreaterThan(1000);
      expect(bytesB.equals(bytesA), `${name}.exe differs between builds`).toBe(true);
    }
    expect(b.map((r) => r.sha256)).toEqual(a.map((r) => r.sha256));
    expect(a.every((r) => !r.reused && r.toolchain === 'mingw')).toBe(true);
  }, 240_000);

  it('reuses an output whose inputs did not change, and rebuilds one that went missing', async () => {
    const before = await stat(guestAppPath('tcptab', first));
    const [again] = await buildGuestApps({ only: ['tcptab'], outDir: first });
    expect(again?.reused).toBe(true);
    expect((await stat(guestAppPath('tcptab', first))).mtimeMs).toBe(before.mtimeMs);

    await rm(guestAppPath('tcptab', first));
    const [rebuilt] = await buildGuestApps({ only: ['tcptab'], outDir: first });
    expect(rebuilt?.reused).toBe(false);
    expect(rebuilt?.sha256).toBe(again?.sha256);
  }, 240_000);

  it('puts programs under build/guest by default', () => {
    expect(guestAppPath('dupclose')).toBe(join(GUEST_BUILD_DIR, 'dupclose.exe'));
    expect(GUEST_BUILD_DIR.endsWith('/build/guest')).toBe(true);
  });
});

describe('toolchains', () => {
  it('names the fix when WATCOM points at no Open Watcom', async () => {
    const error = await detectToolchain({ env: { WATCOM: '/nonexistent/watcom' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).message).toMatch(/WATCOM is set to \/nonexistent\/watcom, but neither .*binl64 nor .*binl holds wcc386 and wlink/);
  });

  it('builds with mingw when WATCOM is unset', async () => {
    const toolchain = await detectToolchain({ env: {} });
    expect(toolchain.kind).toBe('mingw');
  });

  it('gives Open Watcom a no-CRT compile per file and a wlink step with our entry point and subsystem 4.0', () => {
    const spec = GUEST_APPS.dupclose;
    const steps = buildSteps(
      { kind: 'watcom', root: '/opt/watcom', wcc386: '/opt/watcom/binl64/wcc386', wlink: '/opt/watcom/binl64/wlink', identity: 'test' },
      { sources: spec.sources, includeDirs: spec.includeDirs, libs: spec.libs, output: 'build/guest/dupclose.exe', objectDir: 'build/guest/obj/dupclose', repoRoot: '/repo/' },
    );
    expect(steps).toHaveLength(spec.sources.length + 1);
    expect(steps[0]?.args).toEqual(expect.arrayContaining(['-bt=nt', '-zl', '-s', '-i=guest-apps/rt', 'guest-apps/dupclose/dupclose.c']));
    expect(steps[0]?.env?.INCLUDE).toBe('/opt/watcom/h:/opt/watcom/h/nt');
    expect(steps.at(-1)?.args.join(' ')).toBe(
      'system nt option quiet option start=_rt_entry@0 runtime console=4.0 name build/guest/dupclose.exe ' +
        'file build/guest/obj/dupclose/guest-apps_dupclose_dupclose.obj,build/guest/obj/dupclose/guest-apps_cycle_cycle.obj,build/guest/obj/dupclose/guest-apps_rt_rt.obj ' +
        'library ws2_32.lib,kernel32.lib',
    );
  });
});
