import { lstat, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UnsafeOutputError } from './errors.ts';

/**
 * The one rule for every file `image prepare`, `image install` and
 * `image setup-media` write: an output never lands on a file the user handed
 * in (the disk image, each file of its backing chain, the install CD, the
 * boot floppy), and an existing output is replaced only with --force.
 *
 * Paths are compared after resolving every symlink (a symlinked folder made
 * two different strings name the user's disk), and files by device + inode
 * (a hard link has its own real path but the same data). A protected file
 * is refused even with --force: there is no reading of --force that means
 * "destroy my original".
 */

export interface ProtectedFile {
  path: string;
  /** What the file is to the user, for the message: "the image", "a backing file of the image". */
  role: string;
}

export interface OutputCheck {
  /** The flag the path came from, for the message (default --out). */
  flag?: string;
  /** Replace an existing output (never a protected file). */
  force?: boolean;
  protect: readonly ProtectedFile[];
}

/** Returns the absolute output path once it is safe to write; throws UnsafeOutputError otherwise. */
export async function checkOutputPath(out: string, check: OutputCheck): Promise<string> {
  const flag = check.flag ?? '--out';
  const path = resolve(out);
  const real = await realPathOf(path);
  const entry = await lstatOrNull(path);
  // Follows a symlink, so a link to the user's disk shows that disk's inode.
  const target = entry ? await statOrNull(path) : null;
  for (const file of check.protect) {
    const fileReal = await realPathOf(resolve(file.path));
    const fileStat = await statOrNull(file.path);
    const sameFile = fileStat !== null && target !== null && fileStat.dev === target.dev && fileStat.ino === target.ino;
    if (real === fileReal || sameFile) {
      const how =
        real === fileReal
          ? real === path
            ? ''
            : ` (through a symlink: it resolves to ${real})`
          : ` (a hard link: same device and inode as ${file.path})`;
      throw new UnsafeOutputError(
        path,
        flag,
        `is ${file.role}${how}; retrolab never writes it, not even with --force`,
        `give ${flag} a new path`,
      );
    }
  }
  if (target?.isDirectory()) throw new UnsafeOutputError(path, flag, 'is a folder', `give ${flag} a file path`);
  if (entry && !check.force) {
    throw new UnsafeOutputError(path, flag, 'already exists', `give ${flag} a new path, or add --force to replace it`);
  }
  return path;
}

/**
 * Every file qemu-img reads for `image`: the image, each backing file down
 * the chain, and the extent files of a split VMDK. `info` is the parsed
 * output of `qemu-img info --backing-chain --output=json` (an array).
 */
export function imageFilesOf(image: string, info: unknown): ProtectedFile[] {
  const files: ProtectedFile[] = [{ path: resolve(image), role: 'the image' }];
  const seen = new Set(files.map((f) => f.path));
  const add = (path: unknown, base: string, role: string) => {
    if (typeof path !== 'string' || path === '' || path.startsWith('json:')) return;
    const absolute = resolve(base, path);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    files.push({ path: absolute, role });
  };
  const entries = Array.isArray(info) ? info : [info];
  for (const entry of entries as Record<string, unknown>[]) {
    if (!entry || typeof entry !== 'object') continue;
    const own = typeof entry.filename === 'string' ? resolve(dirname(resolve(image)), entry.filename) : resolve(image);
    const base = dirname(own);
    add(own, base, `a backing file of ${image}`);
    add(entry['full-backing-filename'] ?? entry['backing-filename'], base, `a backing file of ${image}`);
    const specific = entry['format-specific'] as { data?: { extents?: { filename?: unknown }[] } } | undefined;
    for (const extent of specific?.data?.extents ?? []) add(extent.filename, base, `an extent file of ${image}`);
  }
  return files;
}

/** The real path of a file that may not exist yet: the nearest existing folder resolved, the rest appended. */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) return path;
    return join(await realPathOf(parent), basename(path));
  }
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}
