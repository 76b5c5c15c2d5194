import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerFiles } from '../../src/licensed/answer-files.ts';
import { UnusableImageError } from '../../src/licensed/errors.ts';
import { readDiskLayout } from '../../src/licensed/disk-layout.ts';
import {
  WINNT_AUTOEXEC_BLOCK,
  checkInstallIso,
  createInstallDisk,
  createTargetDisk,
  writeAnswerFloppy,
} from '../../src/licensed/install-media.ts';
import { loadLicensedOs } from '../../src/licensed/licensed-os.ts';
import { installedWindowsCheck } from '../../src/licensed/install-check.ts';
import { emptyHive, fatExists, fatGet, fatPut, makeNt4Disk, makeWin9xDisk } from './licensed-fixtures.ts';

const licensed = {
  win95: await loadLicensedOs('win95'),
  win98: await loadLicensedOs('win98'),
  winme: await loadLicensedOs('winme'),
  winnt4: await loadLicensedOs('winnt4'),
  win2000: await loadLicensedOs('win2000'),
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'install-media-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshDir(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  return path;
}

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
const answers = { productKey: 'ABCDE-12345-FGHIJ-67890-KLMNO' };

describe('answer floppy', () => {
  it('win98: a 1.44 MB FAT12 floppy whose first data sector (LBA 33, C0/H1/S16) is MSBATCH.INF', async () => {
    const floppy = await writeAnswerFloppy({ licensed: licensed.win98, answers, dir: await freshDir('w98') });
    expect(floppy.files).toEqual(['MSBATCH.INF']);
    const image = await readFile(floppy.path);
    expect(image.length).toBe(1_474_560);
    expect(image.toString('latin1', 54, 62)).toBe('FAT12   ');
    const expected = answerFiles(licensed.win98.install, answers).files.get('MSBATCH.INF')!;
    expect(fatGet(floppy.path, 0, 'MSBATCH.INF').toString('latin1')).toBe(expected);
    // The tiny setup guest of the integration test reads exactly this sector with int 13h.
    const lba33 = image.subarray(33 * 512, 34 * 512).toString('latin1');
    expect(lba33.startsWith('[Setup]\r\nExpress=1\r\n')).toBe(true);
    expect(lba33).toContain(`ProductKey="${answers.productKey}"`);
  });

  it('win2000: WINNT.SIF first on a fresh floppy, [Data] first in it (what the CD-started setup reads from A:)', async () => {
    const floppy = await writeAnswerFloppy({ licensed: licensed.win2000, answers, dir: await freshDir('w2k') });
    expect(floppy.files).toEqual(['WINNT.SIF']);
    const lba33 = (await readFile(floppy.path)).subarray(33 * 512, 34 * 512).toString('latin1');
    expect(lba33.startsWith('[Data]\r\nAutoPartition=1\r\nMsDosInitiated="0"\r\nUnattendedInstall="Yes"\r\n')).toBe(true);
    expect(lba33).toContain(`ProductID="${answers.productKey}"`);
  });

  it('winme: MSBATCH.INF like the rest of 9x', async () => {
    const floppy = await writeAnswerFloppy({ licensed: licensed.winme, answers, dir: await freshDir('wme') });
    expect(floppy.files).toEqual(['MSBATCH.INF']);
    expect(fatGet(floppy.path, 0, 'MSBATCH.INF').toString('latin1')).toBe(
      answerFiles(licensed.winme.install, answers).files.get('MSBATCH.INF'),
    );
  });

  it('winnt4: UNATTEND.TXT in a copy of the DOS boot floppy, whose AUTOEXEC.BAT ends by running winnt /b from C:\\I386', async () => {
    const boot = join(dir, 'dos-startup.img');
    execFileSync('mkfs.fat', ['-C', '-n', 'STARTUP', boot, '1440'], { stdio: 'pipe' });
    fatPut(boot, 0, 'AUTOEXEC.BAT', '@ECHO OFF\r\nPATH A:\\\r\n');
    const floppy = await writeAnswerFloppy({ licensed: licensed.winnt4, answers, dir: await freshDir('nt4'), bootFloppy: boot });
    expect(floppy.files).toEqual(['UNATTEND.TXT', 'AUTOEXEC.BAT']);
    expect(fatGet(floppy.path, 0, 'UNATTEND.TXT').toString('latin1')).toContain(`ProductId="${answers.productKey}"`);
    const autoexec = fatGet(floppy.path, 0, 'AUTOEXEC.BAT').toString('latin1');
    expect(autoexec).toBe(['@ECHO OFF', 'PATH A:\\', 'REM retrolab begin', ...WINNT_AUTOEXEC_BLOCK, 'REM retrolab end', ''].join('\r\n'));
    expect(WINNT_AUTOEXEC_BLOCK.at(-1)).toBe('IF EXIST C:\\I386\\WINNT.EXE C:\\I386\\WINNT.EXE /B /S:C:\\I386 /U:A:\\UNATTEND.TXT');
    expect(fatExists(boot, 0, 'UNATTEND.TXT')).toBe(false);
  });

  it("writes into a copy of the user's boot floppy and leaves the original as it was", async () => {
    const boot = join(dir, 'startup.img');
    execFileSync('mkfs.fat', ['-C', '-n', 'STARTUP', boot, '1440'], { stdio: 'pipe' });
    fatPut(boot, 0, 'AUTOEXEC.BAT', '@ECHO OFF\r\nD:\\WIN98\\SETUP.EXE A:\\MSBATCH.INF\r\n');
    await chmod(boot, 0o444);
    const before = await sha(boot);
    const floppy = await writeAnswerFloppy({ licensed: licensed.win95, answers, dir: await freshDir('w95'), bootFloppy: boot });
    expect(floppy.copiedFrom).toBe(boot);
    expect(await sha(boot)).toBe(before);
    expect(fatExists(boot, 0, 'MSBATCH.INF')).toBe(false);
    expect(fatGet(floppy.path, 0, 'AUTOEXEC.BAT').toString('latin1')).toContain('SETUP.EXE A:\\MSBATCH.INF');
    expect(fatGet(floppy.path, 0, 'MSBATCH.INF').toString('latin1')).toContain('[Setup]');
  });

  it('refuses a boot floppy that is missing, not floppy-sized, or full', async () => {
    const missing = await writeAnswerFloppy({
      licensed: licensed.win98,
      answers,
      dir: await freshDir('missing'),
      bootFloppy: join(dir, 'none.img'),
    }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UnusableImageError);
    expect((missing as Error).message).toContain('none.img: no such file');

    const odd = join(dir, 'odd.img');
    await writeFile(odd, Buffer.alloc(1000));
    await expect(writeAnswerFloppy({ licensed: licensed.win98, answers, dir: await freshDir('odd'), bootFloppy: odd })).rejects.toThrow(
      '1000 bytes is not the size of a raw floppy image (1.44 MB is 1474560)',
    );

    const full = join(dir, 'full.img');
    execFileSync('mkfs.fat', ['-C', full, '1440'], { stdio: 'pipe' });
    fatPut(full, 0, 'BIG.CAB', Buffer.alloc(1_457_664, 1));
    const error = await writeAnswerFloppy({ licensed: licensed.win98, answers, dir: await freshDir('full'), bootFloppy: full }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnusableImageError);
    expect((error as UnusableImageError).message).toContain('mtools could not write MSBATCH.INF into a copy of it');
    expect((error as UnusableImageError).fix).toContain('a few KB free');
  });
});

/** An ISO 9660 image laid out like an NT 4 CD as far as the winnt route looks: I386 with WINNT.EXE and the rest of the source. */
async function ntLikeIso(name: string, files: Record<string, string>): Promise<string> {
  const content = join(dir, `${name}-content`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(content, path, '..'), { recursive: true });
    await writeFile(join(content, path), text);
  }
  const iso = join(dir, `${name}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'NTWKS40A', '-o', iso, content], { stdio: 'pipe' });
  return iso;
}

describe("NT 4's winnt /b disk: a FAT16 C: holding the CD's I386", () => {
  it('lays C: out as DOS FDISK does (active type 06 partition at sector 63) and copies I386 from the CD', async () => {
    const iso = await ntLikeIso('nt4', {
      'I386/WINNT.EXE': 'MZ stand-in for winnt.exe',
      'I386/TXTSETUP.SIF': '[SetupData]\r\n',
      'I386/SYSTEM32/SMSS.EXE': 'MZ',
      'README.TXT': 'x',
    });
    const work = await freshDir('nt4-disk');
    const disk = await createInstallDisk(licensed.winnt4, { dir: work, sizeMb: 200, iso });
    const raw = join(work, 'check.raw');
    execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', disk, raw]);
    const layout = await readDiskLayout(raw);
    expect(layout.fileSystem).toBe('fat16');
    expect(layout.system).toMatchObject({ index: 0, active: true, type: 0x06, startLba: 63 });
    expect(fatGet(raw, layout.volumeOffset, 'I386\\WINNT.EXE').toString('latin1')).toBe('MZ stand-in for winnt.exe');
    expect(fatExists(raw, layout.volumeOffset, 'I386\\SYSTEM32\\SMSS.EXE')).toBe(true);
    expect(fatExists(raw, layout.volumeOffset, 'README.TXT')).toBe(false);
    // The BPB's hidden sectors match the partition start, as DOS needs to boot and address it.
    expect((await readFile(raw)).readUInt32LE(layout.volumeOffset + 28)).toBe(63);
  });

  it('refuses a CD without I386 or without WINNT.EXE in it, naming what was found', async () => {
    const wrong = await ntLikeIso('not-nt', { 'WIN98/SETUP.EXE': 'MZ' });
    await expect(createInstallDisk(licensed.winnt4, { dir: await freshDir('nt4-wrong'), sizeMb: 100, iso: wrong })).rejects.toThrow(
      /no I386 folder at the root of the CD \(found WIN98\)/,
    );
    const empty = await ntLikeIso('no-winnt', { 'I386/TXTSETUP.SIF': 'x' });
    const error = await createInstallDisk(licensed.winnt4, { dir: await freshDir('nt4-empty'), sizeMb: 100, iso: empty }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnusableImageError);
    expect((error as Error).message).toContain('I386 has no WINNT.EXE');
  });

  it('gives the other routes a blank disk', async () => {
    const disk = await createInstallDisk(licensed.win2000, { dir: await freshDir('w2k-disk'), sizeMb: 100, iso: join(dir, 'unused.iso') });
    const raw = execFileSync('qemu-img', ['info', '--output=json', disk]).toString();
    expect(JSON.parse(raw)).toMatchObject({ format: 'qcow2', 'virtual-size': 100 * 1024 * 1024 });
  });
});

describe('the installed check between stages', () => {
  /** A qcow2 of an NT disk whose SYSTEM hive has Setup\\SystemSetupInProgress = `inProgress` (or no SYSTEM hive). */
  async function ntDisk(name: string, inProgress: 0 | 1 | undefined): Promise<string> {
    const raw = join(dir, `${name}.raw`);
    const offset = await makeNt4Disk(raw);
    if (inProgress !== undefined) {
      const hive = join(dir, `${name}-SYSTEM`);
      await writeFile(hive, emptyHive());
      await writeFile(
        join(dir, `${name}.reg`),
        ['REGEDIT4', '', '[HKEY_LOCAL_MACHINE\\SYSTEM\\Setup]', `"SystemSetupInProgress"=dword:0000000${inProgress}`, ''].join('\r\n'),
      );
      execFileSync('hivexregedit', ['--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', hive, join(dir, `${name}.reg`)], {
        stdio: 'pipe',
      });
      fatPut(raw, offset, 'WINNT\\SYSTEM32\\CONFIG\\SYSTEM', await readFile(hive));
    }
    const qcow2 = join(dir, `${name}.qcow2`);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    return qcow2;
  }
  const context = (family: 'win9x' | 'nt', scratch: string) => ({
    target: family === 'nt' ? 'win2000' : 'winme',
    family,
    stage: 2,
    scratchDir: scratch,
  });

  it('NT: waits while GUI setup is still to run (SystemSetupInProgress=1), passes once it is 0 or not there', async () => {
    const scratch = await freshDir('check-nt');
    expect(await installedWindowsCheck({ path: await ntDisk('gui-pending', 1), format: 'qcow2' }, context('nt', scratch))).toEqual({
      installed: false,
      detail: 'text-mode setup is done, GUI setup is not (C:\\WINNT\\SYSTEM32\\CONFIG\\SYSTEM: Setup\\SystemSetupInProgress is 1)',
    });
    expect(await installedWindowsCheck({ path: await ntDisk('gui-done', 0), format: 'qcow2' }, context('nt', scratch))).toEqual({
      installed: true,
      detail: 'C: (FAT16) has WINNT\\SYSTEM32\\CONFIG\\SOFTWARE',
    });
    expect(
      (await installedWindowsCheck({ path: await ntDisk('no-system', undefined), format: 'qcow2' }, context('nt', scratch))).installed,
    ).toBe(true);
  });

  it("holds each target to its family's layout: an NT disk is not an installed Me", async () => {
    const scratch = await freshDir('check-family');
    expect(await installedWindowsCheck({ path: await ntDisk('nt-for-me', 0), format: 'qcow2' }, context('win9x', scratch))).toEqual({
      installed: false,
      detail: 'C: holds Windows NT, not winme',
    });
    const raw = join(dir, 'me.raw');
    await makeWin9xDisk(raw, 32);
    const qcow2 = join(dir, 'me.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    expect(await installedWindowsCheck({ path: qcow2, format: 'qcow2' }, context('win9x', scratch))).toEqual({
      installed: true,
      detail: 'C: (FAT32) has WINDOWS\\WIN.INI',
    });
  });
});

describe('target disk and ISO', () => {
  it('creates a blank qcow2 of the asked size', async () => {
    const disk = await createTargetDisk(await freshDir('disk'), 2000);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', disk]).toString()) as {
      format: string;
      'virtual-size': number;
    };
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 2000 * 1024 * 1024 });
  });

  it('checks the ISO is a file of CD size', async () => {
    await expect(checkInstallIso(join(dir, 'no.iso'))).rejects.toThrow('no.iso: no such file');
    await expect(checkInstallIso(dir)).rejects.toThrow('not a file');
    const iso = join(dir, 'ok.iso');
    await writeFile(iso, Buffer.alloc(40_000));
    await expect(checkInstallIso(iso)).resolves.toBeUndefined();
  });
});
