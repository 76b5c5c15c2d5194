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
 * needs about 124 MB free besides (KB Q126690). The MBR carries boot code of
 * retrolab's own (MBR_BOOT_CODE) that starts the active partition's boot
 * sector, which `winnt /b` replaces with NT's.
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

/**
 * What every MBR's code does, written here byte by byte (16-bit real mode,
 * loaded at 0000:7C00 with DL = the boot disk): move itself to 0000:0600,
 * find the active partition, read its first sector to 0000:7C00 with int 13h
 * extensions, check the 55 AA signature, and jump there with DS:SI at the
 * partition entry and DL unchanged; without an active partition or on a read
 * error it hands over to the BIOS (int 18h).
 */
export const MBR_BOOT_CODE = Buffer.from([
  0xfa, //                         00 cli
  0x31,
  0xc0, //                   01 xor ax, ax
  0x8e,
  0xd0, //                   03 mov ss, ax
  0xbc,
  0x00,
  0x7c, //             05 mov sp, 0x7c00
  0x8e,
  0xd8, //                   08 mov ds, ax
  0x8e,
  0xc0, //                   0a mov es, ax
  0xfb, //                         0c sti
  0xfc, //                         0d cld
  0xbe,
  0x00,
  0x7c, //             0e mov si, 0x7c00
  0xbf,
  0x00,
  0x06, //             11 mov di, 0x0600
  0xb9,
  0x00,
  0x01, //             14 mov cx, 256
  0xf3,
  0xa5, //                   17 rep movsw (the sector to 0000:0600)
  0xea,
  0x1e,
  0x06,
  0x00,
  0x00, // 19 jmp far 0000:061e (next line, in the copy)
  0xbe,
  0xbe,
  0x07, //             1e mov si, 0x07be (partition table of the copy)
  0xb9,
  0x04,
  0x00, //             21 mov cx, 4
  0x80,
  0x3c,
  0x80, //             24 cmp byte [si], 0x80 (active?)
  0x74,
  0x07, //                   27 je 0x30
  0x83,
  0xc6,
  0x10, //             29 add si, 16
  0xe2,
  0xf6, //                   2c loop 0x24
  0xeb,
  0x2b, //                   2e jmp 0x5b (no active partition)
  0x89,
  0xf5, //                   30 mov bp, si
  0x66,
  0x6a,
  0x00, //             32 push dword 0 (LBA, high half)
  0x66,
  0xff,
  0x74,
  0x08, //       35 push dword [si+8] (LBA: the partition's start)
  0x06, //                         39 push es (buffer segment 0)
  0x68,
  0x00,
  0x7c, //             3a push 0x7c00 (buffer offset)
  0x6a,
  0x01, //                   3d push 1 (sectors)
  0x6a,
  0x10, //                   3f push 0x10 (packet size)
  0x89,
  0xe6, //                   41 mov si, sp (DS:SI = the packet)
  0xb4,
  0x42, //                   43 mov ah, 0x42 (extended read; DL is still the boot disk)
  0xcd,
  0x13, //                   45 int 0x13
  0x72,
  0x12, //                   47 jc 0x5b
  0x83,
  0xc4,
  0x10, //             49 add sp, 16
  0x81,
  0x3e,
  0xfe,
  0x7d,
  0x55,
  0xaa, // 4c cmp word [0x7dfe], 0xaa55
  0x75,
  0x07, //                   52 jne 0x5b
  0x89,
  0xee, //                   54 mov si, bp (DS:SI = the partition entry)
  0xea,
  0x00,
  0x7c,
  0x00,
  0x00, // 56 jmp far 0000:7c00
  0xcd,
  0x18, //                   5b int 0x18 (no bootable partition: back to the BIOS)
  0xf4, //                         5d hlt
  0xeb,
  0xfd, //                   5e jmp 0x5d
]);

/** Sector 0: MBR_BOOT_CODE and one active FAT16 partition from sector 63 to the end of the last whole cylinder. */
export function dosMbr(totalSectors: number): { sector: Buffer; partitionSectors: number } {
  const geometry = biosGeometry(totalSectors);
  const end = Math.min(totalSectors, geometry.cylinders * geometry.heads * geometry.sectorsPerTrack);
  const partitionSectors = end - PARTITION_START_LBA;
  const sector = Buffer.alloc(SECTOR_BYTES);
  MBR_BOOT_CODE.copy(sector, 0);
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
export async function createWinntSourceDisk(options: {
  dir: string;
  sizeMb: number;
  iso: string;
  signal?: AbortSignal;
}): Promise<WinntSourceDisk> {
  const call = { signal: options.signal };
  const root = await isoRoot(options.iso, call);
  const i386 = root.find((name) => name.toUpperCase() === 'I386');
  if (i386 === undefined) {
    throw new UnusableImageError(
      options.iso,
      `no I386 folder at the root of the CD (found ${root.slice(0, 12).join(', ') || 'nothing'})`,
      'give the Windows NT 4.0 install CD (x86), whose I386 folder holds WINNT.EXE',
    );
  }
  const extracted = join(options.dir, 'i386-from-cd');
  await rm(extracted, { recursive: true, force: true });
  await mkdir(extracted, { recursive: true });
  await runTool('xorriso', ['-osirrox', 'on', '-indev', options.iso, '-extract', `/${i386}`, join(extracted, 'I386')], call);
  const files = await readdir(join(extracted, 'I386'), { recursive: true });
  if (!files.some((name) => name.toUpperCase() === 'WINNT.EXE')) {
    await rm(extracted, { recursive: true, force: true });
    throw new UnusableImageError(
      options.iso,
      `${i386} has no WINNT.EXE`,
      'give the Windows NT 4.0 install CD, whose I386 folder holds WINNT.EXE (the DOS setup program)',
    );
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
    [
      '-F',
      '16',
      '-n',
      'NTSETUP',
      '--offset',
      String(PARTITION_START_LBA),
      '-h',
      String(PARTITION_START_LBA),
      '-g',
      `${geometry.heads}/${geometry.sectorsPerTrack}`,
      path,
      String(Math.floor(partitionSectors / 2)),
    ],
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
