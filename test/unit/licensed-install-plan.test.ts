import { PassThrough } from 'node:stream';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageCommand } from '../../src/cli/commands/image.ts';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { ConfigError } from '../../src/errors.ts';
import { UnusableImageError } from '../../src/licensed/errors.ts';
import { installImage, type InstallOptions } from '../../src/licensed/install-driver.ts';
import { InstallFailedError, InstallIncompleteError, InstallStageTimeoutError, stageTimeoutFix } from '../../src/licensed/install-errors.ts';
import {
  INSTALL_DEFAULTS,
  formatDuration,
  parseDiskSizeMb,
  parseStageTimeoutMs,
  planInstallStages,
  stageBootOrder,
} from '../../src/licensed/install-plan.ts';

const HOUR = 3_600_000;

describe('install stage plan', () => {
  it('win98 without a boot floppy: the CD first, then C: up to six stages', () => {
    const stages = planInstallStages('win98', { bootFloppy: false, stageTimeoutMs: HOUR });
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
    const stages = planInstallStages('win95', { bootFloppy: true, stageTimeoutMs: 60_000 });
    expect(stages[0]).toEqual({ number: 1, boot: 'floppy', what: 'setup starts from the boot floppy', timeoutMs: 60_000 });
    expect(stages).toHaveLength(INSTALL_DEFAULTS.win95.maxStages);
  });

  it('winnt4 boots its CD, has four stages at most, and takes no boot floppy', () => {
    expect(planInstallStages('winnt4', { bootFloppy: false, stageTimeoutMs: HOUR }).map((s) => s.boot)).toEqual(['cdrom', 'disk', 'disk', 'disk']);
    expect(() => planInstallStages('winnt4', { bootFloppy: true, stageTimeoutMs: HOUR })).toThrow(
      '--boot-floppy: winnt4 installs from its bootable CD; a boot floppy is only taken for win95 and win98',
    );
  });

  it('takes a smaller bound, and refuses none', () => {
    expect(planInstallStages('win98', { bootFloppy: false, stageTimeoutMs: HOUR, maxStages: 2 }).map((s) => s.boot)).toEqual(['cdrom', 'disk']);
    expect(() => planInstallStages('win98', { bootFloppy: false, stageTimeoutMs: HOUR, maxStages: 0 })).toThrow(ConfigError);
  });

  it('boots a stage from its device, then C:', () => {
    expect(stageBootOrder({ boot: 'cdrom' })).toEqual(['cdrom', 'disk']);
    expect(stageBootOrder({ boot: 'floppy' })).toEqual(['floppy', 'disk']);
    expect(stageBootOrder({ boot: 'disk' })).toEqual(['disk']);
  });
});

describe('install flags', () => {
  it('--disk-size-mb: the target default, or a whole number in range', () => {
    expect(parseDiskSizeMb(undefined, 'win95')).toBe(2000);
    expect(parseDiskSizeMb('512', 'win98')).toBe(512);
    expect(() => parseDiskSizeMb('12', 'win98')).toThrow('--disk-size-mb: "12" must be a whole number of MB from 64 to 8000 (default for win98: 2000)');
    expect(() => parseDiskSizeMb('1.5', 'win98')).toThrow(ConfigError);
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
    const error = new InstallStageTimeoutError('win98', { number: 3, boot: 'disk', what: 'setup continues from C:', timeoutMs: 45 * 60_000 }, '/cache/install/win98-x', artifacts);
    expect(error.message.split('\n')).toEqual([
      'win98: install stage 3 (setup continues from C:, booted from disk) did not end within its timeout of 45 min 00 s; QEMU was killed',
      '  last serial lines:',
      '  | SETUP IS WAITING',
      '  serial log: /cache/install/win98-x/stage-3-timeout-1ms-serial.txt',
      '  screenshot: /cache/install/win98-x/stage-3-timeout-1ms-screen.png',
      '  work directory kept: /cache/install/win98-x',
      `  fix: ${stageTimeoutFix('win98', { number: 3, boot: 'disk' })}`,
    ]);
    expect(error.screenshotPath).toBe(artifacts.screenshotPath);
    expect(error.context).toMatchObject({ stage: 3, boot: 'disk', timeoutMs: 45 * 60_000, workDir: '/cache/install/win98-x' });
  });

  it('says when there is no screenshot', () => {
    const error = new InstallStageTimeoutError('winnt4', { number: 1, boot: 'cdrom', what: 'setup starts from the CD', timeoutMs: 60_000 }, '/w', { ...artifacts, screenshotPath: undefined });
    expect(error.message.split('\n')[0]).toContain('QEMU was killed (no screenshot: QEMU did not answer in time)');
  });

  it('the fix depends on where the stage booted', () => {
    expect(stageTimeoutFix('win95', { number: 1, boot: 'cdrom' })).toContain('(Win95 retail CDs never do): give your boot floppy with --boot-floppy');
    expect(stageTimeoutFix('winnt4', { number: 1, boot: 'cdrom' })).not.toContain('--boot-floppy');
    expect(stageTimeoutFix('win98', { number: 1, boot: 'floppy' })).toContain("a DOS prompt means the boot floppy's AUTOEXEC.BAT did not start setup with A:\\MSBATCH.INF");
    expect(stageTimeoutFix('win95', { number: 2, boot: 'disk' })).toContain('FIX95CPU or patcher9x');
    expect(stageTimeoutFix('winnt4', { number: 2, boot: 'disk' })).not.toContain('FIX95CPU');
    for (const fix of [stageTimeoutFix('win98', { number: 1, boot: 'cdrom' }), stageTimeoutFix('winnt4', { number: 4, boot: 'disk' })]) {
      expect(fix).toContain('larger --timeout-minutes');
    }
  });

  it('an install that never finishes, and any other failure, say where the work directory is', () => {
    const incomplete = new InstallIncompleteError('winnt4', 4, 'no Windows on C: yet', '/w/winnt4-1');
    expect(incomplete.message).toContain('winnt4: setup ran 4 stage(s), each ending in a reboot, but the disk still does not hold an installed winnt4: no Windows on C: yet');
    expect(incomplete.message).toContain('work directory kept: /w/winnt4-1');
    const cause = new Error('qemu-img: no space left');
    const failed = new InstallFailedError('win95', 'creating the target disk', '/w/win95-1', cause);
    expect(failed.message).toBe('win95: install failed during creating the target disk: qemu-img: no space left\n  work directory kept: /w/win95-1');
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

  const base = (): InstallOptions => ({ docker, target: 'win98', iso, answers: { productKey: 'ABCDE-12345' }, agentExe, cacheRoot: join(dir, 'cache') });

  it.each<[string, () => Partial<InstallOptions>, abstract new (...args: never[]) => Error, string]>([
    ['a bad product key', () => ({ answers: { productKey: 'no!' } }), ConfigError, '--product-key: "no!" does not look like a product key'],
    ['MaxConnections on NT 4', () => ({ target: 'winnt4', maxConnections: 40 }), ConfigError, '--max-connections: MSTCP MaxConnections exists only on Windows 95/98'],
    ['a logon on 98', () => ({ logon: { user: 'me', password: '' } }), ConfigError, '--user/--password: the automatic logon is an NT 4 setting'],
    ['a missing ISO', () => ({ iso: join(dir, 'nope.iso') }), UnusableImageError, 'nope.iso: no such file'],
    ['a tiny ISO', () => ({ iso: agentExe }), UnusableImageError, 'too small for an ISO 9660 CD image'],
    ['a missing agent', () => ({ agentExe: join(dir, 'none.exe') }), ConfigError, 'none.exe does not exist'],
    ['a boot floppy for NT 4', () => ({ target: 'winnt4', bootFloppy: iso }), ConfigError, '--boot-floppy: winnt4 installs from its bootable CD'],
  ])('%s', async (_name, change, type, message) => {
    const error = await installImage({ ...base(), ...change() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toContain(message);
    await expect(readdir(join(dir, 'cache'))).rejects.toThrow('ENOENT');
  });
});

describe('retrolab image install flags', () => {
  const io = () => ({ stdout: new PassThrough(), stderr: new PassThrough(), signal: new AbortController().signal });

  it('needs --iso and --product-key', async () => {
    await expect(imageCommand(['install', '--target', 'win98', '--product-key', 'ABCDE-12345'], io())).rejects.toThrow('--iso: required (your win98 install CD image)');
    await expect(imageCommand(['install', '--target', 'win98', '--iso', '/x.iso'], io())).rejects.toThrow('--product-key: required');
  });

  it('checks sizes and timeouts before building anything', async () => {
    const args = ['install', '--target', 'win95', '--iso', '/x.iso', '--product-key', 'ABCDE-12345'];
    await expect(imageCommand([...args, '--disk-size-mb', 'lots'], io())).rejects.toThrow('--disk-size-mb: "lots"');
    await expect(imageCommand([...args, '--timeout-minutes', '99999'], io())).rejects.toThrow('--timeout-minutes: "99999"');
  });

  it('keeps install flags to install', async () => {
    await expect(imageCommand(['prepare', '--target', 'win98', '--image', '/d.img', '--iso', '/x.iso'], io())).rejects.toThrow('--iso: only for `image install`');
  });

  it('lists install in the usage text', async () => {
    const error = (await imageCommand(['nope'], io()).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('retrolab image install --target win95|win98|winnt4 --iso PATH --product-key KEY [--boot-floppy PATH]');
  });
});
