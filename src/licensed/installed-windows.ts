import type { FatVolume } from './fat-volume.ts';
import { getIniValue } from './ini-text.ts';

/**
 * Which Windows is installed on a FAT volume, and where, read from the files
 * its boot uses: MSDOS.SYS `[Paths] WinDir=` on 95/98 (a text file there),
 * BOOT.INI's default entry on NT 4.
 */
export type InstalledWindows =
  { family: 'win9x'; windowsDir: string } | { family: 'nt'; systemRoot: string } | { family: 'none'; looked: string[] };

export async function findInstalledWindows(volume: FatVolume): Promise<InstalledWindows> {
  const looked: string[] = [];
  looked.push('MSDOS.SYS');
  if (await volume.exists('MSDOS.SYS')) {
    const text = (await volume.read('MSDOS.SYS')).toString('latin1');
    const winDir = getIniValue(text, 'Paths', 'WinDir');
    if (winDir !== undefined) {
      const dir = dosPathOnVolume(winDir);
      looked.push(`${dir}\\WIN.INI`);
      if (await volume.exists(`${dir}\\WIN.INI`)) return { family: 'win9x', windowsDir: dir };
    }
  }
  looked.push('BOOT.INI');
  if (await volume.exists('BOOT.INI')) {
    const text = (await volume.read('BOOT.INI')).toString('latin1');
    const entry = getIniValue(text, 'boot loader', 'default') ?? '';
    const dir = /\)\\([^\\\s]+)\s*$/.exec(entry)?.[1] ?? 'WINNT';
    looked.push(`${dir}\\SYSTEM32\\CONFIG\\SOFTWARE`);
    if (await volume.exists(`${dir}\\SYSTEM32\\CONFIG\\SOFTWARE`)) return { family: 'nt', systemRoot: dir };
  }
  return { family: 'none', looked };
}

/** `C:\WINDOWS` → `WINDOWS` (the volume is C:). */
function dosPathOnVolume(path: string): string {
  return path
    .trim()
    .replace(/^[A-Za-z]:/, '')
    .replace(/^\\+/, '')
    .replace(/\\+$/, '');
}
