import type { DiskFormat } from '../config/vm-spec.ts';
import { diskFormat } from '../config/vm-spec.ts';
import { UnusableImageError } from './errors.ts';
import { runTool } from './host-tool.ts';
import { imageFilesOf, type ProtectedFile } from './output-guard.ts';
import { statUserFile } from './user-file.ts';

/**
 * The user's image as qemu-img sees it, on the host (qemu-utils): preparing
 * an image converts it to a raw working copy, which mtools needs, and back,
 * so the host has qemu-img anyway. `-U` opens it without taking the write
 * lock, and qemu-img only ever reads a conversion's source.
 */

export interface ImageFileInfo {
  path: string;
  format: DiskFormat;
  virtualSizeBytes: number;
  /** Changes whenever the file does: part of the prepared image's cache key. */
  identity: string;
  /** The image and every file it reads through (backing chain, VMDK extents): never an output. */
  files: ProtectedFile[];
}

export async function inspectImageFile(path: string, options: { signal?: AbortSignal } = {}): Promise<ImageFileInfo> {
  const info = await statUserFile(path, {
    missing: 'check the path (a disk image of an installed system: raw, qcow2, vmdk, vdi or vpc)',
    notAFile: 'give the path of the disk image file itself',
  });
  const chain = JSON.parse(await runTool('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path], options)) as unknown;
  const json = (Array.isArray(chain) ? chain[0] : chain) as { format: string; 'virtual-size': number };
  const format = diskFormat.safeParse(json.format);
  if (!format.success) {
    throw new UnusableImageError(
      path,
      `qemu-img reads it as "${json.format}", not a disk format retrolab accepts`,
      'convert it to qcow2 or raw with qemu-img convert first (raw, qcow2, vmdk, vdi and vpc are accepted)',
    );
  }
  return {
    path,
    format: format.data,
    virtualSizeBytes: json['virtual-size'],
    identity: `${path}:${info.size}:${info.mtimeMs}`,
    files: imageFilesOf(path, chain),
  };
}

/** Converts any accepted format to another file; the source is opened read-only. */
export async function convertImage(
  from: { path: string; format: DiskFormat },
  to: { path: string; format: 'raw' | 'qcow2' },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  await runTool('qemu-img', ['convert', '-U', '-f', from.format, '-O', to.format, from.path, to.path], options);
}
