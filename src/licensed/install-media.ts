import { chown, copyFile, chmod, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { containerUser } from '../qemu/run-directory.ts';
import { answerFiles, type InstallAnswers } from './answer-files.ts';
import { DiskToolError, UnusableImageError } from './errors.ts';
import { FatVolume } from './fat-volume.ts';
import { runTool } from './host-tool.ts';
import { setBatchBlock } from './ini-text.ts';
import type { LicensedOs } from './licensed-os.ts';
import { statUserFile } from './user-file.ts';
import { createWinntSourceDisk } from './winnt-source-disk.ts';

/**
 * The media of an unattended install, all in its work directory: the answer
 * floppy (a fresh 1.44 MB FAT12 image, or a copy of the user's boot floppy,
 * with the OS's answer file written to it) and the qcow2 disk setup installs
 * onto: blank, or for NT 4's `winnt /b` route a FAT C: holding the CD's I386.
 * The user's ISO and floppy are only read.
 */

export const ANSWER_FLOPPY = 'answer-floppy.img';
export const TARGET_DISK = 'disk.qcow2';

const FLOPPY_KB = 1440;
/** Floppy image sizes a PC BIOS boots: 360 KB to 2.88 MB, DMF 1.68 MB included. */
const FLOPPY_BYTES = new Set([368_640, 737_280, 1_228_800, 1_474_560, 1_720_320, 2_949_120]);

export interface AnswerFloppy {
  path: string;
  /** Names as written on the floppy (`MSBATCH.INF`, `AUTOEXEC.BAT`). */
  files: string[];
  /** The user's boot floppy it was copied from, if any. */
  copiedFrom?: string;
}

/**
 * The line the boot floppy's AUTOEXEC.BAT gets on NT 4's route: winnt from
 * C:\I386, floppyless (/B), with the answer file on A: (KB Q153768's form).
 */
export const WINNT_AUTOEXEC_BLOCK = ['IF EXIST C:\\I386\\WINNT.EXE C:\\I386\\WINNT.EXE /B /S:C:\\I386 /U:A:\\UNATTEND.TXT'];

/**
 * Writes the target's answer files to `dir/answer-floppy.img`: a new FAT12
 * floppy (the first file lands at LBA 33, the first data sector), or a
 * writable copy of `bootFloppy` so the startup disk finds them on A:. On
 * the `dos-winnt` route the copy's AUTOEXEC.BAT also gets the block that runs winnt.
 */
export async function writeAnswerFloppy(options: {
  licensed: Pick<LicensedOs, 'install'>;
  answers: InstallAnswers;
  dir: string;
  bootFloppy?: string;
  signal?: AbortSignal;
}): Promise<AnswerFloppy> {
  const call = { signal: options.signal };
  const { files } = answerFiles(options.licensed.install, options.answers);
  const path = join(options.dir, ANSWER_FLOPPY);
  if (options.bootFloppy) {
    await checkBootFloppy(options.bootFloppy);
    await copyFile(options.bootFloppy, path);
    await chmod(path, 0o644);
  } else {
    await runTool('mkfs.fat', ['-C', '-n', 'RETROLAB', path, String(FLOPPY_KB)], call);
  }
  const volume = new FatVolume(path, 0, call);
  try {
    for (const [name, text] of files) {
      const folder = posix.dirname(name);
      if (folder !== '.') await volume.mkdir(folder);
      await volume.write(name, Buffer.from(text, 'latin1'));
    }
    if (options.licensed.install.route === 'dos-winnt') {
      const autoexec = (await volume.exists('AUTOEXEC.BAT')) ? (await volume.read('AUTOEXEC.BAT')).toString('latin1') : '@ECHO OFF\r\n';
      await volume.write('AUTOEXEC.BAT', Buffer.from(setBatchBlock(autoexec, 'retrolab', WINNT_AUTOEXEC_BLOCK), 'latin1'));
      files.set('AUTOEXEC.BAT', '');
    }
  } catch (error) {
    if (!(error instanceof DiskToolError) || !options.bootFloppy) throw error;
    throw new UnusableImageError(
      options.bootFloppy,
      `mtools could not write ${[...files.keys()].join(', ')} into a copy of it: ${error.stderr.trim() || `exit ${error.exitCode}`}`,
      'give a FAT12 boot floppy image with a few KB free (delete something from a copy of it, e.g. extra CD-ROM drivers), or none to get a blank answer floppy',
      { cause: error },
    );
  }
  return { path, files: [...files.keys()], copiedFrom: options.bootFloppy };
}

async function checkBootFloppy(path: string): Promise<void> {
  const info = await statUserFile(path, {
    missing: 'give the path of your boot floppy image (a raw .img of the startup disk)',
    notAFile: 'give the path of the boot floppy image file itself',
  });
  if (!FLOPPY_BYTES.has(info.size)) {
    throw new UnusableImageError(
      path,
      `${info.size} bytes is not the size of a raw floppy image (1.44 MB is ${1_474_560})`,
      'give a raw floppy image (.img, .ima, .vfd); convert other formats to raw first',
    );
  }
}

/**
 * The disk setup installs onto, by install route: blank for the routes whose
 * setup partitions it, a FAT C: holding the CD's I386 for `winnt /b`.
 */
export async function createInstallDisk(
  licensed: Pick<LicensedOs, 'install'>,
  options: { dir: string; sizeMb: number; iso: string; signal?: AbortSignal },
): Promise<string> {
  if (licensed.install.route !== 'dos-winnt') return createTargetDisk(options.dir, options.sizeMb, options);
  const call = { signal: options.signal };
  const source = await createWinntSourceDisk(options);
  const path = join(options.dir, TARGET_DISK);
  await runTool('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', source.path, path], call);
  await rm(source.path, { force: true });
  await giveToQemuUser(path);
  return path;
}

async function giveToQemuUser(path: string): Promise<void> {
  if ((process.getuid?.() ?? 0) === 0) {
    const [uid, gid] = containerUser().split(':').map(Number) as [number, number];
    await chown(path, uid, gid);
  }
}

/**
 * A blank qcow2 disk of `sizeMb` for setup to partition and install onto. The
 * container runs QEMU as another user, which must be able to write it.
 */
export async function createTargetDisk(dir: string, sizeMb: number, options: { signal?: AbortSignal } = {}): Promise<string> {
  const path = join(dir, TARGET_DISK);
  await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', path, `${sizeMb}M`], options);
  await giveToQemuUser(path);
  return path;
}

/** Checks the install ISO before anything is created: it must be a readable file. */
export async function checkInstallIso(path: string): Promise<void> {
  const info = await statUserFile(path, {
    missing: 'give the path of your Windows install CD image (.iso)',
    notAFile: 'give the path of the CD image file itself (make one from the CD with dd or your CD tool)',
  });
  if (info.size < 32_768 + 2_048)
    throw new UnusableImageError(
      path,
      `${info.size} bytes is too small for an ISO 9660 CD image`,
      'give the whole image of the install CD',
    );
  // Lent to QEMU as it is; as root here, QEMU runs as nobody and reads it as "others".
  if ((process.getuid?.() ?? 0) === 0 && (info.mode & 0o004) === 0) {
    throw new UnusableImageError(
      path,
      'not readable by others, and QEMU runs as an unprivileged user',
      `chmod o+r ${path} (it is only ever read)`,
    );
  }
}
