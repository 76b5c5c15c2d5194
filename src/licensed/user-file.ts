import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { UnusableImageError } from './errors.ts';

/**
 * Stats a file the user named (a disk image, a boot floppy, an install CD):
 * it must exist and be a regular file, else an UnusableImageError with the fix
 * for that kind of file.
 */
export async function statUserFile(path: string, fix: { missing: string; notAFile: string }): Promise<Stats> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new UnusableImageError(path, 'no such file', fix.missing, { cause: error });
  }
  if (!info.isFile()) throw new UnusableImageError(path, 'not a file', fix.notAFile);
  return info;
}
