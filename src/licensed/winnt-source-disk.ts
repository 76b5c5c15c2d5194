import { chown, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { containerUser } from '../qemu/run-directory.ts';
import { SECTOR_BYTES } from './disk-layout.ts';
import { UnusableImageError } from './errors.ts';
import { runTool } from './host-tool.ts';

/**
 * The disk NT 4's documented unattended route starts from: DOS on a FAT C:
 * that holds the I386 folder, where the boot floppy's AUTOEXEC.BAT runs
 * `C:\I386\WINNT.EXE /B /S:C:\I386 /U:A:\UNATTEND.TXT` (KB Q155197, Q153768;
 * legacy-install-facts.md, Q1). The disk gets an MBR with one active FAT16
 * partition (type 06) at sector 63, as DOS FDISK lays it out, formatted with
 * mkfs.fat, and I386 copied from the user's CD with xorriso and mtools; winnt
 * needs about 124 MB free besides (KB Q126690). The MBR has a partition table
 * but no boot code: the floppy's block runs `FDISK /MBR` first (a Windows
 * 95/98 startup disk carries FDISK).
 */

export const FAT16_PARTITION = 0x06;
export const PARTITION_START_LBA = 63;
const SECTORS_PER_TRACK = 63;

export interface WinntSourceDisk {
  /** The raw disk image. */
  path: string;
  /** Byte offset of C: (for mtools). */
  volumeOffset: number;
  /** Files copied into C:\I386. */
  i386Files: number;
}

/**
 * The BIOS geometry of a disk this size, as SeaBIOS translates it: 63 sectors
 * per track and the fewest heads (16, 32, 64, 128, 255) that keep the
 * cylinders at 1024 or less. DOS addresses a type-06 partition through it.
 */
export function biosGeometry(sectors: number): { heads: number; sectorsPerTrack: number; cylinders: number } {
  for (const heads of [16, 32, 64, 128, 255]) {
    const cylinders = Math.floor(sectors / (heads * SECTORS_PER_TRACK));
    if (cylinders <= 1024 || heads === 255) return { heads, sectorsPerTrack: SECTORS_PER_TRACK, cylinders: Math.min(cylinders, 1024) };
  }
  throw new Error('unreachable');
}

function chs(lba: number, geometry: { heads: number; sectorsPerTrack: number }): [number, number, number] {
  const perCylinder = geometry.heads * geometry.sectorsPerTrack;
  let cylinder = Math.floor(lba / perCylinder);
  let head = Math.floor((lba % perCylinder) / geometry.sectorsPerTrack);
  let sector = (lba % geometry.sectorsPerTrack) + 1;
  if (cylinder > 1023) [cylinder, head, sector] = [1023, geometry.heads - 1, geometry.sectorsPerTrack];
  return [head, ((cylinder >> 2) & 0xc0) | sector, cylinder & 0xff];
}

/** Sector 0: no boot code, one active FAT16 partition from sector 63 to the end of the last whole cylinder. */
export function dosMbr(totalSectors: number): { sector: Buffer; partitionSectors: number } {
  const geometry = biosGeometry(totalSectors);
  const end = Math.min(totalSectors, geometry.cylinders * geometry.heads * geometry.sectorsPerTrack);
  const partitionSectors = end - PARTITION_START_LBA;
  const sector = Buffer.alloc(SECTOR_BYTES);
  const entry = 0x1be;
  sector[entry] = 0x80;
  sector.set(chs(PARTITION_START_LBA, geometry), entry + 1);
  sector[entry + 4] = FAT16_PARTITION;
  sector.set(chs(end - 1, geometry), entry + 5);
  sector.writeUInt32LE(PARTITION_START_LBA, entry + 8);
  sector.writeUInt32LE(partitionSectors, entry + 12);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return { sector, partitionSectors };
}

/** Root entries of an ISO 9660 image, as xorriso lists them. */
async function isoRoot(iso: string, call: { signal?: AbortSignal }): Promise<string[]> {
  const listing = await runTool('xorriso', ['-indev', iso, '-ls', '/'], call);
  return listing.split('\n').flatMap((line) => {
    const name = /^'(.*)'$/.exec(line.trim())?.[1];
    return name === undefined ? [] : [name];
  });
}

/** Writes `dir/disk.raw`: MBR, FAT16 C:, and the CD's I386 folder in C:\I386. */
export async function createWinntSourceDisk(options: { dir: string; sizeMb: number; iso: string; signal?: AbortSignal }): Promise<WinntSourceDisk> {
  const call = options.signal ? { signal: options.signal } : {};
  const root = await isoRoot(options.iso, call);
  const i386 = root.find((name) => name.toUpperCase() === 'I386');
  if (i386 === undefined) {
    throw new UnusableImageError(options.iso, `no I386 folder at the root of the CD (found ${root.slice(0, 12).join(', ') || 'nothing'})`, 'give the Windows NT 4.0 install CD (x86), whose I386 folder holds WINNT.EXE');
  }
  const extracted = join(options.dir, 'i386-from-cd');
  await rm(extracted, { recursive: true, force: true });
  await mkdir(extracted, { recursive: true });
  await runTool('xorriso', ['-osirrox', 'on', '-indev', options.iso, '-extract', `/${i386}`, join(extracted, 'I386')], call);
  const files = await readdir(join(extracted, 'I386'), { recursive: true });
  if (!files.some((name) => name.toUpperCase() === 'WINNT.EXE')) {
    await rm(extracted, { recursive: true, force: true });
    throw new UnusableImageError(options.iso, `${i386} has no WINNT.EXE`, 'give the Windows NT 4.0 install CD, whose I386 folder holds WINNT.EXE (the DOS setup program)');
  }

  const path = join(options.dir, 'disk.raw');
  const totalSectors = Math.floor((options.sizeMb * 1024 * 1024) / SECTOR_BYTES);
  const { sector, partitionSectors } = dosMbr(totalSectors);
  const geometry = biosGeometry(totalSectors);
  const file = await open(path, 'w');
  try {
    await file.truncate(totalSectors * SECTOR_BYTES);
    await file.write(sector, 0, SECTOR_BYTES, 0);
  } finally {
    await file.close();
  }
  const volumeOffset = PARTITION_START_LBA * SECTOR_BYTES;
  await runTool(
    'mkfs.fat',
    ['-F', '16', '-n', 'NTSETUP', '--offset', String(PARTITION_START_LBA), '-h', String(PARTITION_START_LBA), '-g', `${geometry.heads}/${geometry.sectorsPerTrack}`, path, String(Math.floor(partitionSectors / 2))],
    call,
  );
  await runTool('mcopy', ['-s', '-i', `${path}@@${volumeOffset}`, join(extracted, 'I386'), '::/'], call);
  await rm(extracted, { recursive: true, force: true });
  if ((process.getuid?.() ?? 0) === 0) {
    const [uid, gid] = containerUser().split(':').map(Number) as [number, number];
    await chown(path, uid, gid);
  }
  return { path, volumeOffset, i386Files: files.length };
}
