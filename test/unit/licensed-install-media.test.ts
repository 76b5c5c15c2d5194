import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerFiles } from '../../src/licensed/answer-files.ts';
import { UnusableImageError } from '../../src/licensed/errors.ts';
import { checkInstallIso, createTargetDisk, writeAnswerFloppy } from '../../src/licensed/install-media.ts';
import { fatExists, fatGet, fatPut } from './licensed-fixtures.ts';

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

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
const answers = { productKey: 'ABCDE-12345-FGHIJ-67890-KLMNO' };

describe('answer floppy', () => {
  it('win98: a 1.44 MB FAT12 floppy whose first data sector (LBA 33, C0/H1/S16) is MSBATCH.INF', async () => {
    const floppy = await writeAnswerFloppy({ target: 'win98', answers, dir: await freshDir('w98') });
    expect(floppy.files).toEqual(['MSBATCH.INF']);
    const image = await readFile(floppy.path);
    expect(image.length).toBe(1_474_560);
    expect(image.toString('latin1', 54, 62)).toBe('FAT12   ');
    const expected = answerFiles('win98', answers).files.get('MSBATCH.INF')!;
    expect(fatGet(floppy.path, 0, 'MSBATCH.INF').toString('latin1')).toBe(expected);
    // The tiny setup guest of the integration test reads exactly this sector with int 13h.
    const lba33 = image.subarray(33 * 512, 34 * 512).toString('latin1');
    expect(lba33.startsWith('[Setup]\r\nExpress=1\r\n')).toBe(true);
    expect(lba33).toContain(`ProductKey="${answers.productKey}"`);
  });

  it('winnt4: UNATTEND.TXT and $OEM$\\CMDLINES.TXT', async () => {
    const floppy = await writeAnswerFloppy({ target: 'winnt4', answers, dir: await freshDir('nt4') });
    expect(floppy.files).toEqual(['UNATTEND.TXT', '$OEM$/CMDLINES.TXT']);
    expect(fatGet(floppy.path, 0, 'UNATTEND.TXT').toString('latin1')).toContain(`ProductId="${answers.productKey}"`);
    expect(fatGet(floppy.path, 0, '$OEM$/CMDLINES.TXT').toString('latin1')).toContain('regedit /s C:\\RETROLAB\\AUTOSTRT.REG');
  });

  it("writes into a copy of the user's boot floppy and leaves the original as it was", async () => {
    const boot = join(dir, 'startup.img');
    execFileSync('mkfs.fat', ['-C', '-n', 'STARTUP', boot, '1440'], { stdio: 'pipe' });
    fatPut(boot, 0, 'AUTOEXEC.BAT', '@ECHO OFF\r\nD:\\WIN98\\SETUP.EXE A:\\MSBATCH.INF\r\n');
    await chmod(boot, 0o444);
    const before = await sha(boot);
    const floppy = await writeAnswerFloppy({ target: 'win95', answers, dir: await freshDir('w95'), bootFloppy: boot });
    expect(floppy.copiedFrom).toBe(boot);
    expect(await sha(boot)).toBe(before);
    expect(fatExists(boot, 0, 'MSBATCH.INF')).toBe(false);
    expect(fatGet(floppy.path, 0, 'AUTOEXEC.BAT').toString('latin1')).toContain('SETUP.EXE A:\\MSBATCH.INF');
    expect(fatGet(floppy.path, 0, 'MSBATCH.INF').toString('latin1')).toContain('[Setup]');
  });

  it('refuses a boot floppy that is missing, not floppy-sized, or full', async () => {
    const missing = await writeAnswerFloppy({ target: 'win98', answers, dir: await freshDir('missing'), bootFloppy: join(dir, 'none.img') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UnusableImageError);
    expect((missing as Error).message).toContain('none.img: no such file');

    const odd = join(dir, 'odd.img');
    await writeFile(odd, Buffer.alloc(1000));
    await expect(writeAnswerFloppy({ target: 'win98', answers, dir: await freshDir('odd'), bootFloppy: odd })).rejects.toThrow(
      '1000 bytes is not the size of a raw floppy image (1.44 MB is 1474560)',
    );

    const full = join(dir, 'full.img');
    execFileSync('mkfs.fat', ['-C', full, '1440'], { stdio: 'pipe' });
    fatPut(full, 0, 'BIG.CAB', Buffer.alloc(1_457_664, 1));
    const error = await writeAnswerFloppy({ target: 'win98', answers, dir: await freshDir('full'), bootFloppy: full }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnusableImageError);
    expect((error as UnusableImageError).message).toContain('mtools could not write MSBATCH.INF into a copy of it');
    expect((error as UnusableImageError).fix).toContain('a few KB free');
  });
});

describe('target disk and ISO', () => {
  it('creates a blank qcow2 of the asked size', async () => {
    const disk = await createTargetDisk(await freshDir('disk'), 2000);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', disk]).toString()) as { format: string; 'virtual-size': number };
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
