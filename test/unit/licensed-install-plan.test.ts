import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrolabInProcess as retrolab } from '../support/cli-process.ts';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { ConfigError } from '../../src/errors.ts';
import { UnusableImageError } from '../../src/licensed/errors.ts';
import { installImage, type InstallOptions } from '../../src/licensed/install-driver.ts';
import {
  InstallFailedError,
  InstallIncompleteError,
  InstallStageTimeoutError,
  stageTimeoutFix,
} from '../../src/licensed/install-errors.ts';
import { loadLicensedOs } from '../../src/licensed/licensed-os.ts';
import {
  formatDuration,
  parseDiskSizeMb,
  parseStageTimeoutMs,
  planInstallStages,
  stageBootOrder,
} from '../../src/licensed/install-plan.ts';

const HOUR = 3_600_000;
const os = {
  win95: await loadLicensedOs('win95'),
  win98: await loadLicensedOs('win98'),
  winme: await loadLicensedOs('winme'),
  winnt4: await loadLicensedOs('winnt4'),
  win2000: await loadLicensedOs('win2000'),
};

describe('install stage plan', () => {
  it('win98 without a boot floppy: the CD first, then C: up to six stages', () => {
    const stages = planInstallStages(os.win98, { bootFloppy: false, stageTimeoutMs: HOUR });
    expect(stages.map((s) => [s.number, s.boot])).toEqual([
      [1, 'cdrom'],
      [2, 'disk'],
      [3, 'disk'],
      [4, 'disk'],
      [5, 'disk'],
      [6, 'disk'],
    ]);
    expect(stages[0]!.what).toBe('setup starts from the CD');
    expect(stages[1]!.what).toBe('setup continues from C:');
    expect(stages.every((s) => s.timeoutMs === HOUR)).toBe(true);
  });

  it('win95 with a boot floppy starts from the floppy', () => {
    const stages = planInstallStages(os.win95, { bootFloppy: true, stageTimeoutMs: 60_000 });
    expect(stages[0]).toMatchObject({ number: 1, boot: 'floppy', what: 'setup starts from the boot floppy', timeoutMs: 60_000 });
    expect(stages).toHaveLength(os.win95.install.maxStages);
  });

  it("winnt4 takes its documented route: DOS from the user's boot floppy runs winnt /b from C:\\I386, then C: (text mode, GUI mode, installed)", () => {
    expect(os.winnt4.install).toMatchObject({ route: 'dos-winnt', answerFile: 'UNATTEND.TXT', bootFloppy: 'required' });
    const stages = planInstallStages(os.winnt4, { bootFloppy: true, stageTimeoutMs: HOUR });
    expect(stages.map((s) => s.boot)).toEqual(['floppy', 'disk', 'disk', 'disk', 'disk']);
    expect(stages[0]!.what).toBe('DOS boots from the floppy and runs winnt /b from C:\\I386');
    // No CD boot: no document says NT 4 setup booted from its CD reads an answer file from A:.
    expect(() => planInstallStages(os.winnt4, { bootFloppy: false, stageTimeoutMs: HOUR })).toThrow(
      /--boot-floppy: required for winnt4: its documented unattended route is DOS on a FAT C: running `winnt \/b \/s:C:\\I386 \/u:A:\\UNATTEND.TXT` \(KB Q155197, Q153768\)/,
    );
  });

  it('win2000 boots its CD, which reads WINNT.SIF from A:, and takes no boot floppy', () => {
    expect(planInstallStages(os.win2000, { bootFloppy: false, stageTimeoutMs: HOUR }).map((s) => s.boot)).toEqual([
      'cdrom',
      'disk',
      'disk',
      'disk',
    ]);
    expect(() => planInstallStages(os.win2000, { bootFloppy: true, stageTimeoutMs: HOUR })).toThrow(
      '--boot-floppy: win2000 installs from its bootable CD, which reads WINNT.SIF from the answer floppy; drop --boot-floppy',
    );
  });

  it('winme installs like 98: the CD or a boot floppy, then C:', () => {
    expect(planInstallStages(os.winme, { bootFloppy: false, stageTimeoutMs: HOUR }).map((s) => s.boot)).toEqual(
      planInstallStages(os.win98, { bootFloppy: false, stageTimeoutMs: HOUR }).map((s) => s.boot),
    );
    expect(planInstallStages(os.winme, { bootFloppy: true, stageTimeoutMs: HOUR })[0]!.boot).toBe('floppy');
  });

  it('takes a smaller bound, and refuses none', () => {
    expect(planInstallStages(os.win98, { bootFloppy: false, stageTimeoutMs: HOUR, maxStages: 2 }).map((s) => s.boot)).toEqual([
      'cdrom',
      'disk',
    ]);
    expect(() => planInstallStages(os.win98, { bootFloppy: false, stageTimeoutMs: HOUR, maxStages: 0 })).toThrow(ConfigError);
  });

  it('boots a stage from its device, then C:', () => {
    expect(stageBootOrder({ boot: 'cdrom' })).toEqual(['cdrom', 'disk']);
    expect(stageBootOrder({ boot: 'floppy' })).toEqual(['floppy', 'disk']);
    expect(stageBootOrder({ boot: 'disk' })).toEqual(['disk']);
  });
});

describe('install flags', () => {
  it('--disk-size-mb: the target default, or a whole number in range', () => {
    expect(parseDiskSizeMb(undefined, os.win95)).toBe(2000);
    expect(parseDiskSizeMb('512', os.win98)).toBe(512);
    expect(() => parseDiskSizeMb('12', os.win98)).toThrow(
      '--disk-size-mb: "12" must be a whole number of MB from 64 to 8000 (default for win98: 2000)',
    );
    expect(() => parseDiskSizeMb('1.5', os.win98)).toThrow(ConfigError);
  });

  it('--timeout-minutes: per stage, default an hour', () => {
    expect(parseStageTimeoutMs(undefined)).toBe(HOUR);
    expect(parseStageTimeoutMs('90')).toBe(90 * 60_000);
    expect(() => parseStageTimeoutMs('0')).toThrow('--timeout-minutes: "0" must be a whole number of minutes from 1 to 1440');
    expect(() => parseStageTimeoutMs('ten')).toThrow(ConfigError);
  });

  it('formats elapsed times for progress lines', () => {
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(200_000)).toBe('3 min 20 s');
    expect(formatDuration(HOUR + 120_000)).toBe('1 h 02 min');
  });
});

describe('install errors', () => {
  const artifacts = {
    lastSerialLines: ['SETUP IS WAITING'],
    serialLogPath: '/cache/install/win98-x/stage-3-timeout-1ms-serial.txt',
    screenshotPath: '/cache/install/win98-x/stage-3-timeout-1ms-screen.png',
  };

  it('a stage timeout names the stage, the timeout, the screenshot, the work directory and what to do', () => {
    const error = new InstallStageTimeoutError(
      'win98',
      { number: 3, boot: 'disk', what: 'setup continues from C:', timeoutMs: 45 * 60_000 },
      '/cache/install/win98-x',
      artifacts,
    );
    expect(error.message.split('\n')).toEqual([
      'win98: install stage 3 (setup continues from C:, booted from disk) did not end within its timeout of 45 min 00 s; QEMU was killed',
      '  last serial lines:',
      '  | SETUP IS WAITING',
      '  serial log: /cache/install/win98-x/stage-3-timeout-1ms-serial.txt',
      '  screenshot: /cache/install/win98-x/stage-3-timeout-1ms-screen.png',
      '  work directory kept: /cache/install/win98-x',
      `  fix: ${stageTimeoutFix({})}`,
    ]);
    expect(error.screenshotPath).toBe(artifacts.screenshotPath);
    expect(error.context).toMatchObject({ stage: 3, boot: 'disk', timeoutMs: 45 * 60_000, workDir: '/cache/install/win98-x' });
  });

  it('says when there is no screenshot', () => {
    const error = new InstallStageTimeoutError(
      'winnt4',
      { number: 1, boot: 'cdrom', what: 'setup starts from the CD', timeoutMs: 60_000 },
      '/w',
      { ...artifacts, screenshotPath: undefined },
    );
    expect(error.message.split('\n')[0]).toContain('QEMU was killed (no screenshot: QEMU did not answer in time)');
  });

  it('the fix depends on the route and where the stage booted', () => {
    const fix = (licensed: (typeof os)['win95'], bootFloppy: boolean, stage: number) =>
      stageTimeoutFix(planInstallStages(licensed, { bootFloppy, stageTimeoutMs: HOUR })[stage - 1]!);
    expect(fix(os.win95, false, 1)).toContain('(Win95 retail CDs never do): give your boot floppy with --boot-floppy');
    expect(fix(os.win2000, false, 1)).not.toContain('--boot-floppy');
    expect(fix(os.win98, true, 1)).toContain("a DOS prompt means the boot floppy's AUTOEXEC.BAT did not start setup with A:\\MSBATCH.INF");
    expect(fix(os.winnt4, true, 1)).toContain('did not reach the retrolab block that runs C:\\I386\\WINNT.EXE');
    expect(fix(os.win95, false, 2)).toContain('FIX95CPU or patcher9x');
    expect(fix(os.winme, false, 2)).toContain('FIX95CPU or patcher9x');
    expect(fix(os.winnt4, true, 2)).not.toContain('FIX95CPU');
    for (const text of [fix(os.win98, false, 1), fix(os.winnt4, true, 4)]) expect(text).toContain('larger --timeout-minutes');
  });

  it('an install that never finishes, and any other failure, say where the work directory is', () => {
    const incomplete = new InstallIncompleteError('winnt4', 4, 'no Windows on C: yet', '/w/winnt4-1');
    expect(incomplete.message).toContain(
      'winnt4: setup ran 4 stage(s), each ending in a reboot, but the disk still does not hold an installed winnt4: no Windows on C: yet',
    );
    expect(incomplete.message).toContain('work directory kept: /w/winnt4-1');
    const cause = new Error('qemu-img: no space left');
    const failed = new InstallFailedError('win95', 'creating the target disk', '/w/win95-1', cause);
    expect(failed.message).toBe(
      'win95: install failed during creating the target disk: qemu-img: no space left\n  work directory kept: /w/win95-1',
    );
    expect(failed.cause).toBe(cause);
  });
});

describe('installImage checks its inputs before creating anything', () => {
  let dir: string;
  let iso: string;
  let agentExe: string;
  const docker = {} as DockerClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'install-inputs-'));
    iso = join(dir, 'setup.iso');
    await writeFile(iso, Buffer.alloc(64 * 1024));
    agentExe = join(dir, 'agent.exe');
    await writeFile(agentExe, 'MZ');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const base = (): InstallOptions => ({
    docker,
    target: 'win98',
    iso,
    answers: { productKey: 'ABCDE-12345' },
    agentExe,
    cacheRoot: join(dir, 'cache'),
  });

  it.each<[string, () => Partial<InstallOptions>, abstract new (...args: never[]) => Error, string]>([
    ['a bad product key', () => ({ answers: { productKey: 'no!' } }), ConfigError, '--product-key: "no!" does not look like a product key'],
    [
      'MaxConnections on NT 4',
      () => ({ target: 'winnt4', maxConnections: 40 }),
      ConfigError,
      '--max-connections: MSTCP MaxConnections exists only on Windows 95/98/ME; Windows NT 4.0 has no such limit',
    ],
    [
      'MaxConnections on 2000',
      () => ({ target: 'win2000', maxConnections: 40 }),
      ConfigError,
      'Windows 2000 has no such limit (drop the flag for win2000)',
    ],
    [
      'a logon on 98',
      () => ({ logon: { user: 'me', password: '' } }),
      ConfigError,
      "--user/--password: the automatic logon is a Windows NT setting, not Windows 98's",
    ],
    ['a logon on Me', () => ({ target: 'winme', logon: { user: 'me', password: '' } }), ConfigError, "not Windows Me's"],
    ['a missing ISO', () => ({ iso: join(dir, 'nope.iso') }), UnusableImageError, 'nope.iso: no such file'],
    ['a tiny ISO', () => ({ iso: agentExe }), UnusableImageError, 'too small for an ISO 9660 CD image'],
    ['a missing agent', () => ({ agentExe: join(dir, 'none.exe') }), ConfigError, 'none.exe does not exist'],
    [
      'a boot floppy for 2000',
      () => ({ target: 'win2000', bootFloppy: iso }),
      ConfigError,
      '--boot-floppy: win2000 installs from its bootable CD',
    ],
    ['no boot floppy for NT 4', () => ({ target: 'winnt4' }), ConfigError, '--boot-floppy: required for winnt4'],
  ])('%s', async (_name, change, type, message) => {
    const error = await installImage({ ...base(), ...change() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toContain(message);
    await expect(readdir(join(dir, 'cache'))).rejects.toThrow('ENOENT');
  });
});

describe('retrolab image install flags', () => {
  it('needs --iso and --product-key', async () => {
    const noIso = await retrolab(['image', 'install', '--target', 'win98', '--product-key', 'ABCDE-12345']);
    expect(noIso.code).toBe(2);
    expect(noIso.stderr).toContain('--iso is required (your install CD image)');
    expect((await retrolab(['image', 'install', '--target', 'win98', '--iso', '/x.iso'])).stderr).toContain('--product-key is required');
  });

  it('checks sizes and timeouts before building anything', async () => {
    const args = ['image', 'install', '--target', 'win95', '--iso', '/x.iso', '--product-key', 'ABCDE-12345'];
    expect((await retrolab([...args, '--disk-size-mb', 'lots'])).stderr).toContain('--disk-size-mb: "lots"');
    expect((await retrolab([...args, '--timeout-minutes', '99999'])).stderr).toContain('--timeout-minutes: "99999"');
  });

  it('keeps install flags to install', async () => {
    const misplaced = await retrolab(['image', 'prepare', '--target', 'win98', '--image', '/d.img', '--iso', '/x.iso']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('unknown option --iso');
  });

  it('lists install in the usage text', async () => {
    const unknown = await retrolab(['image', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown image subcommand "nope"; choose from prepare, setup-media, install');
    const help = await retrolab(['help', 'image', 'install']);
    expect(help.stdout).toContain('usage: retrolab image install --target T --iso PATH --product-key KEY [--boot-floppy PATH]');
    expect(help.stdout).toMatch(/--target T\s+the licensed target: a folder of vms\/ whose spec.json says "licensed": true/);
  });

  it('takes the licensed targets of vms/, and lists them when given another', async () => {
    const other = await retrolab(['image', 'prepare', '--target', 'wine', '--image', '/d.img']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /^retrolab: --target: "wine" is not one of win2000, win95, win98, winme, winnt4; did you mean "winme"\?\n/,
    );
  });
});
