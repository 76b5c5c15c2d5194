import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, PrerequisiteError } from '../../src/errors.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { GUEST_APPS } from '../../src/guest-apps/guest-app-table.ts';
import { GUEST_BUILD_DIR, guestAppPath, guestBuildDir } from '../../src/guest-apps/paths.ts';
import { buildSteps, detectToolchain, TOOLCHAIN_KINDS } from '../../src/guest-apps/toolchain.ts';

const PROGRAMS = ['dupclose', 'duphandle', 'tcptab'] as const;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'guest-build-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** TimeDateStamp of the COFF header. */
function linkTime(bytes: Buffer): number {
  return bytes.readUInt32LE(bytes.readUInt32LE(0x3c) + 8);
}

describe.each(TOOLCHAIN_KINDS)('buildGuestApps with %s', (toolchain) => {
  it('gives identical bytes for the same sources in two separate builds, a second or more apart', async () => {
    const first = join(work, `${toolchain}-a`);
    const second = join(work, `${toolchain}-b`);
    const a = await buildGuestApps({ only: PROGRAMS, outDir: first, force: true, toolchain });
    // wlink stamps the link time (seconds) into every program: builds in different seconds must still agree.
    await sleep(1_100);
    const b = await buildGuestApps({ only: PROGRAMS, outDir: second, force: true, toolchain });
    for (const name of PROGRAMS) {
      const bytesA = await readFile(guestAppPath(name, first));
      const bytesB = await readFile(guestAppPath(name, second));
      expect(bytesA.length).toBeGreaterThan(1000);
      expect(linkTime(bytesA), `${name}.exe link time`).toBe(0);
      expect(bytesB.equals(bytesA), `${name}.exe differs between builds`).toBe(true);
    }
    expect(b.map((r) => r.sha256)).toEqual(a.map((r) => r.sha256));
    expect(a.every((r) => !r.reused && r.toolchain === toolchain)).toBe(true);
    const stamp = JSON.parse(await readFile(join(first, 'tcptab.stamp'), 'utf8')) as { toolchainKind: string; toolchain: string };
    expect(stamp.toolchainKind).toBe(toolchain);
    expect(stamp.toolchain).toBe(a[0]?.toolchainIdentity);
    expect(stamp.toolchain.startsWith(`${toolchain} `)).toBe(true);
  }, 240_000);

  it('reuses an output whose inputs did not change, and rebuilds one that went missing', async () => {
    const dir = join(work, `${toolchain}-a`);
    const before = await stat(guestAppPath('tcptab', dir));
    const [again] = await buildGuestApps({ only: ['tcptab'], outDir: dir, toolchain });
    expect(again?.reused).toBe(true);
    expect((await stat(guestAppPath('tcptab', dir))).mtimeMs).toBe(before.mtimeMs);

    await rm(guestAppPath('tcptab', dir));
    const [rebuilt] = await buildGuestApps({ only: ['tcptab'], outDir: dir, toolchain });
    expect(rebuilt?.reused).toBe(false);
    expect(rebuilt?.sha256).toBe(again?.sha256);
  }, 240_000);

  it('builds into a folder whose path has spaces and @ in it', async () => {
    const odd = join(work, `${toolchain} out@0`, 'a b');
    await mkdir(odd, { recursive: true });
    const [built] = await buildGuestApps({ only: ['tcptab'], outDir: odd, force: true, toolchain });
    expect(built?.path).toBe(join(odd, 'tcptab.exe'));
    expect((await readFile(built!.path)).equals(await readFile(guestAppPath('tcptab', join(work, `${toolchain}-a`))))).toBe(true);
  }, 240_000);
});

describe('build folders', () => {
  it('keeps each toolchain in its own folder under build/guest', () => {
    expect(GUEST_BUILD_DIR.endsWith('/build/guest')).toBe(true);
    expect(guestAppPath('dupclose', guestBuildDir('watcom'))).toBe(join(GUEST_BUILD_DIR, 'watcom', 'dupclose.exe'));
    expect(guestBuildDir('mingw')).toBe(join(GUEST_BUILD_DIR, 'mingw'));
  });
});

describe('choosing the toolchain', () => {
  const nowhere = () => ({ cache: join(work, 'empty-cache'), sharedToolchains: join(work, 'no-shared') });

  it('names the fix when WATCOM points at no Open Watcom', async () => {
    const error = await detectToolchain({ env: { WATCOM: '/nonexistent/watcom' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).message).toMatch(
      /WATCOM is set to \/nonexistent\/watcom, but neither .*binl64 nor .*binl holds wcc386 and wlink/,
    );
  });

  it('uses Open Watcom by default when the shared toolchains folder has one', async () => {
    const toolchain = await detectToolchain({ env: {} });
    expect(toolchain.kind).toBe('watcom');
    expect(toolchain.identity).toMatch(/^watcom shared toolchains sha256:[0-9a-f]{64} Open Watcom C x86 32-bit/);
  });

  it('falls back to mingw when no Open Watcom is found, and builds with mingw when asked', async () => {
    expect((await detectToolchain({ env: {}, ...nowhere() })).kind).toBe('mingw');
    expect((await detectToolchain({ env: { RETROLAB_TOOLCHAIN: 'mingw' } })).kind).toBe('mingw');
    expect((await detectToolchain({ env: {}, choice: 'mingw' })).kind).toBe('mingw');
  });

  it('fails with the ways to provide Open Watcom when watcom is asked for and none is found', async () => {
    const error = await detectToolchain({ env: { RETROLAB_TOOLCHAIN: 'watcom' }, ...nowhere() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).message).toMatch(/the watcom toolchain was asked for, but no Open Watcom was found/);
    expect((error as PrerequisiteError).fix).toMatch(/WATCOM.*RETROLAB_OPENWATCOM_TARBALL.*shared\/toolchains.*npm run setup/);
  });

  it('refuses an unknown RETROLAB_TOOLCHAIN', async () => {
    const error = await detectToolchain({ env: { RETROLAB_TOOLCHAIN: 'msvc' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'RETROLAB_TOOLCHAIN: unknown toolchain "msvc"; choose from watcom, mingw (or auto: Open Watcom when present)',
    );
  });
});

describe('Open Watcom build steps', () => {
  const watcom = {
    kind: 'watcom' as const,
    root: '/opt/ow',
    bin: '/opt/ow/binl64',
    wcc386: '/opt/ow/binl64/wcc386',
    wlink: '/opt/ow/binl64/wlink',
    identity: 'test',
    install: { root: '/opt/ow', bin: '/opt/ow/binl64', from: 'WATCOM' as const },
  };
  const spec = GUEST_APPS.dupclose;

  it('compiles each file without default libraries and links through a directive file run from the object folder', () => {
    const steps = buildSteps(watcom, {
      sources: spec.sources,
      includeDirs: spec.includeDirs,
      libs: spec.libs,
      output: 'build/guest/watcom/dupclose.exe',
      objectDir: 'build/guest/watcom/obj/dupclose',
      repoRoot: '/repo/',
    });
    expect(steps).toHaveLength(spec.sources.length + 1);
    expect(steps[0]?.args).toEqual(expect.arrayContaining(['-bt=nt', '-zl', '-s', '-i=guest-apps/rt', 'guest-apps/dupclose/dupclose.c']));
    expect(steps[0]?.env?.INCLUDE).toBe('/opt/ow/h:/opt/ow/h/nt');
    const link = steps.at(-1)!;
    // wlink finds `system nt` (binl64/wlink.lnk) only along PATH.
    expect(link.env?.PATH?.split(':')[0]).toBe('/opt/ow/binl64');
    expect(link.env?.WATCOM).toBe('/opt/ow');
    expect(link.args).toEqual(['@link.lnk']);
    expect(link.cwd).toBe('build/guest/watcom/obj/dupclose');
    expect(link.input?.path).toBe('build/guest/watcom/obj/dupclose/link.lnk');
    expect(link.input?.content).toBe(
      [
        'system nt',
        'option quiet',
        "option start='_rt_entry@0'",
        'runtime console=4.0',
        'option osversion=4.0',
        'name ../../dupclose.exe',
        'file guest-apps_dupclose_dupclose.obj',
        'file guest-apps_cycle_cycle.obj',
        'file guest-apps_provider_choose.obj',
        'file guest-apps_provider_enumerate.obj',
        'file guest-apps_rt_rt.obj',
        'library ws2_32.lib',
        'library kernel32.lib',
        '',
      ].join('\n'),
    );
  });

  it('quotes object and output paths with spaces or @ for both tools', () => {
    const steps = buildSteps(watcom, {
      sources: ['guest-apps/tcptab/tcptab.c'],
      includeDirs: ['guest-apps/rt'],
      libs: ['kernel32'],
      output: '../out dir/tcptab@1.exe',
      objectDir: '../out dir/obj',
      repoRoot: '/repo',
    });
    expect(steps[0]?.args.at(-2)).toBe('-fo="../out dir/obj/guest-apps_tcptab_tcptab.obj"');
    expect(steps[1]?.input?.content).toContain("name '../tcptab@1.exe'\n");
  });
});
