import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertImage } from './disk-image-file.ts';
import { readDiskLayout } from './disk-layout.ts';
import { UnusableImageError } from './errors.ts';
import { FatVolume } from './fat-volume.ts';
import { findInstalledWindows } from './installed-windows.ts';
import { exportHiveKey, hiveHasKey } from './nt-hive.ts';
import type { OsFamilyName } from '../os/os-family.ts';
import type { LicensedTarget } from './licensed-config.ts';

/**
 * Whether setup has left an installed system on the disk, looked at between
 * stages (QEMU is not running then). The default check asks what `prepare`
 * will ask: an MBR partition with FAT16/FAT32 holding Windows 95/98
 * (MSDOS.SYS WinDir → WIN.INI) or NT 4 (BOOT.INI → SYSTEM32\CONFIG\SOFTWARE),
 * so an install that passes it can be prepared.
 */

export interface InstalledCheckResult {
  installed: boolean;
  /** What was found or missing, for progress and for the error when setup never finishes. */
  detail: string;
}

export interface InstalledCheckContext {
  target: LicensedTarget;
  /** The OS family being installed: which layout (MSDOS.SYS or BOOT.INI) counts as installed. */
  family: OsFamilyName;
  /** The stage that just ended. */
  stage: number;
  /** A folder for scratch files (the work directory). */
  scratchDir: string;
  signal?: AbortSignal;
}

export type InstalledCheck = (disk: { path: string; format: 'qcow2' }, context: InstalledCheckContext) => Promise<InstalledCheckResult>;

export const installedWindowsCheck: InstalledCheck = async (disk, context) => {
  const call = { signal: context.signal };
  const raw = join(context.scratchDir, `check-stage-${context.stage}.raw`);
  try {
    await convertImage(disk, { path: raw, format: 'raw' }, call);
    let layout;
    try {
      layout = await readDiskLayout(raw, disk.path);
    } catch (error) {
      if (error instanceof UnusableImageError) return { installed: false, detail: firstLine(error.message) };
      throw error;
    }
    if (layout.fileSystem !== 'fat16' && layout.fileSystem !== 'fat32') {
      return { installed: false, detail: `partition ${layout.system.index + 1} holds ${layout.fileSystem.toUpperCase()}, not FAT16/FAT32` };
    }
    const found = await findInstalledWindows(new FatVolume(raw, layout.volumeOffset, call));
    const wanted = context.family;
    if (found.family === 'none') return { installed: false, detail: `no Windows on C: yet (looked for ${found.looked.join(', ')})` };
    if (found.family !== wanted) {
      return { installed: false, detail: `C: holds ${found.family === 'nt' ? 'Windows NT' : 'Windows 95/98/ME'}, not ${context.target}` };
    }
    if (found.family === 'nt') {
      const volume = new FatVolume(raw, layout.volumeOffset, call);
      const pending = await ntSetupInProgress(volume, found.systemRoot, context.scratchDir, call);
      if (pending) return { installed: false, detail: pending };
    }
    const where = found.family === 'nt' ? `${found.systemRoot}\\SYSTEM32\\CONFIG\\SOFTWARE` : `${found.windowsDir}\\WIN.INI`;
    return { installed: true, detail: `C: (${layout.fileSystem.toUpperCase()}) has ${where}` };
  } finally {
    await rm(raw, { force: true });
  }
};

/**
 * NT's text-mode setup already leaves BOOT.INI and the SOFTWARE hive; GUI
 * setup runs on the next boot with SYSTEM\\Setup SystemSetupInProgress=1 and
 * sets it to 0 when it ends (documented for Windows 2000 and later; whether
 * NT 4 writes it is unverified, so only a value of 1 counts against the
 * install). Says why the install is not done yet, or nothing.
 */
async function ntSetupInProgress(
  volume: FatVolume,
  systemRoot: string,
  scratchDir: string,
  call: { signal?: AbortSignal },
): Promise<string | undefined> {
  const hivePath = `${systemRoot}\\SYSTEM32\\CONFIG\\SYSTEM`;
  if (!(await volume.exists(hivePath))) return undefined;
  const hive = join(scratchDir, 'check-SYSTEM');
  try {
    await writeFile(hive, await volume.read(hivePath));
    if (!(await hiveHasKey(hive, '\\Setup', call))) return undefined;
    const setup = await exportHiveKey(hive, '\\Setup', call);
    return /^"SystemSetupInProgress"=dword:0*1\s*$/im.test(setup)
      ? `text-mode setup is done, GUI setup is not (C:\\${hivePath}: Setup\\SystemSetupInProgress is 1)`
      : undefined;
  } finally {
    await rm(hive, { force: true });
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
