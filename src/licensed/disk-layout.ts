import { open } from 'node:fs/promises';
import { UnusableImageError } from './errors.ts';

/**
 * Reads a raw disk's MBR and the boot sector of the partition Windows boots
 * from, byte by byte, so preparation knows where the volume starts and whether
 * mtools can write it. Windows 95/98/NT 4 installs always sit in an MBR
 * partition; a bare volume or a GPT disk is not something they boot from.
 */

export const SECTOR_BYTES = 512;

export type FileSystemKind = 'fat12' | 'fat16' | 'fat32' | 'ntfs' | 'unknown';

export interface MbrPartition {
  index: number;
  active: boolean;
  type: number;
  startLba: number;
  sectors: number;
}

export interface DiskLayout {
  partitions: MbrPartition[];
  /** The active partition, else the first one. */
  system: MbrPartition;
  fileSystem: FileSystemKind;
  /** Byte offset of the system volume, as mtools takes it (`image@@offset`). */
  volumeOffset: number;
}

const PARTITION_TABLE = 0x1be;
const GPT_PROTECTIVE = 0xee;
const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);

export function parseMbr(sector: Buffer, image: string): MbrPartition[] {
  if (sector.length < SECTOR_BYTES || sector[510] !== 0x55 || sector[511] !== 0xaa) {
    throw new UnusableImageError(
      image,
      'no partition table (sector 0 does not end in the 55 AA signature)',
      'give the whole disk image of an installed system (C: in an MBR partition), not a floppy or an empty disk',
    );
  }
  if (looksLikeVolumeBootSector(sector)) {
    throw new UnusableImageError(
      image,
      `no partition table: sector 0 is a ${fileSystemOf(sector).toUpperCase()} boot sector (a bare volume, not a partitioned disk)`,
      'give the whole disk image (with its MBR), not an image of the C: volume alone',
    );
  }
  const partitions: MbrPartition[] = [];
  for (let index = 0; index < 4; index += 1) {
    const entry = sector.subarray(PARTITION_TABLE + index * 16, PARTITION_TABLE + (index + 1) * 16);
    const type = entry[4] ?? 0;
    const sectors = entry.readUInt32LE(12);
    if (type === 0 || sectors === 0) continue;
    partitions.push({ index, active: entry[0] === 0x80, type, startLba: entry.readUInt32LE(8), sectors });
  }
  if (partitions.some((p) => p.type === GPT_PROTECTIVE)) {
    throw new UnusableImageError(
      image,
      'a GPT disk (protective MBR); Windows 95/98/NT 4 boot only from MBR partitions',
      'give the disk image of an installed 95/98/NT 4 system',
    );
  }
  if (partitions.length === 0) {
    throw new UnusableImageError(
      image,
      'the partition table is empty',
      'install Windows on the disk first, or use `retrolab image install`',
    );
  }
  return partitions;
}

/** FAT and NTFS boot sectors start with a jump and name their file system at fixed places. */
function looksLikeVolumeBootSector(sector: Buffer): boolean {
  const jump = sector[0] === 0xeb || sector[0] === 0xe9;
  return jump && fileSystemOf(sector) !== 'unknown';
}

export function fileSystemOf(bootSector: Buffer): FileSystemKind {
  const text = (start: number, length: number) => bootSector.subarray(start, start + length).toString('latin1');
  if (text(3, 8) === 'NTFS    ') return 'ntfs';
  if (text(82, 8) === 'FAT32   ') return 'fat32';
  const fat = text(54, 8);
  if (fat === 'FAT16   ') return 'fat16';
  if (fat === 'FAT12   ') return 'fat12';
  // Some formatters leave the label generic ("FAT     "); the sector count decides then.
  if (fat === 'FAT     ') return bootSector.readUInt16LE(22) === 0 ? 'fat32' : 'fat16';
  return 'unknown';
}

/** Reads the layout of a raw disk image file. */
export async function readDiskLayout(rawImage: string, shownAs: string = rawImage): Promise<DiskLayout> {
  const file = await open(rawImage, 'r');
  try {
    const mbr = Buffer.alloc(SECTOR_BYTES);
    await file.read(mbr, 0, SECTOR_BYTES, 0);
    const partitions = parseMbr(mbr, shownAs);
    const primary = partitions.filter((p) => !EXTENDED_TYPES.has(p.type));
    const system = primary.find((p) => p.active) ?? primary[0];
    if (!system) {
      throw new UnusableImageError(
        shownAs,
        'only an extended partition: no primary partition to boot from',
        'give the disk image of an installed system',
      );
    }
    const boot = Buffer.alloc(SECTOR_BYTES);
    const { bytesRead } = await file.read(boot, 0, SECTOR_BYTES, system.startLba * SECTOR_BYTES);
    if (bytesRead < SECTOR_BYTES) {
      throw new UnusableImageError(
        shownAs,
        `partition ${system.index + 1} starts at sector ${system.startLba}, past the end of the image`,
        'the image is truncated: copy it again from its source',
      );
    }
    return { partitions, system, fileSystem: fileSystemOf(boot), volumeOffset: system.startLba * SECTOR_BYTES };
  } finally {
    await file.close();
  }
}
