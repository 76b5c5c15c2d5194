import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Synthetic disks for the licensed-target tests, made here with mkfs.fat and
 * mtools: an MBR written byte by byte, a FAT16/FAT32 volume laid out like an
 * installed Windows 95/98 or NT 4 (with a registry hive made from nothing and
 * filled by hivexregedit). No Windows file is involved.
 */

const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const START_LBA = 63;

export function mbr(partitions: { type: number; startLba: number; sectors: number; active?: boolean }[]): Buffer {
  const sector = Buffer.alloc(512);
  partitions.forEach((p, i) => {
    const at = 0x1be + i * 16;
    sector[at] = p.active ? 0x80 : 0;
    sector[at + 4] = p.type;
    sector.writeUInt32LE(p.startLba, at + 8);
    sector.writeUInt32LE(p.sectors, at + 12);
  });
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

export async function writeAt(path: string, offset: number, data: Buffer): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.write(data, 0, data.length, offset);
  } finally {
    await file.close();
  }
}

/** A raw disk with one active FAT partition at sector 63; returns the volume's byte offset. */
export async function makeFatDisk(path: string, fat: 16 | 32, sizeMb = 64): Promise<number> {
  const totalSectors = (sizeMb * 1024 * 1024) / 512;
  const sectors = totalSectors - START_LBA;
  await writeFile(path, Buffer.alloc(0));
  execFileSync('truncate', ['-s', `${sizeMb}M`, path]);
  await writeAt(path, 0, mbr([{ type: fat === 16 ? 0x06 : 0x0c, startLba: START_LBA, sectors, active: true }]));
  execFileSync(
    'mkfs.fat',
    ['-F', String(fat), ...(fat === 32 ? ['-s', '1'] : []), '--offset', String(START_LBA), path, String(Math.floor(sectors / 2))],
    { stdio: 'pipe' },
  );
  return START_LBA * 512;
}

export function fatPut(image: string, offset: number, dosPath: string, data: Buffer | string): void {
  const dir = mkdtempSync(join(tmpdir(), 'fixture-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, data);
    execFileSync('mcopy', ['-o', '-i', `${image}@@${offset}`, file, `::/${dosPath.replaceAll('\\', '/')}`], {
      env: MTOOLS_ENV,
      stdio: 'pipe',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fatMkdir(image: string, offset: number, dosPath: string): void {
  execFileSync('mmd', ['-i', `${image}@@${offset}`, `::/${dosPath.replaceAll('\\', '/')}`], { env: MTOOLS_ENV, stdio: 'pipe' });
}

export function fatGet(image: string, offset: number, dosPath: string): Buffer {
  return execFileSync('mcopy', ['-n', '-i', `${image}@@${offset}`, `::/${dosPath.replaceAll('\\', '/')}`, '-'], {
    env: MTOOLS_ENV,
    maxBuffer: 64 << 20,
  });
}

export function fatExists(image: string, offset: number, dosPath: string): boolean {
  try {
    execFileSync('mdir', ['-b', '-i', `${image}@@${offset}`, `::/${dosPath.replaceAll('\\', '/')}`], { env: MTOOLS_ENV, stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export const WIN_INI = '[windows]\r\nload=\r\nrun=C:\\OLD\\THING.EXE\r\nNullPort=None\r\n\r\n[Desktop]\r\nWallpaper=(None)\r\n';
export const AUTOEXEC_BAT = '@ECHO OFF\r\nSET TEMP=C:\\WINDOWS\\TEMP\r\n';

/** A FAT disk laid out like an installed Windows 95/98 (MSDOS.SYS, WINDOWS\WIN.INI, the StartUp folder). */
export async function makeWin9xDisk(path: string, fat: 16 | 32, options: { winsock2?: boolean } = {}): Promise<number> {
  const offset = await makeFatDisk(path, fat);
  fatPut(
    path,
    offset,
    'MSDOS.SYS',
    '[Paths]\r\nWinDir=C:\\WINDOWS\r\nWinBootDir=C:\\WINDOWS\r\nHostWinBootDrv=C\r\n\r\n[Options]\r\nBootGUI=1\r\n',
  );
  fatPut(path, offset, 'AUTOEXEC.BAT', AUTOEXEC_BAT);
  for (const dir of [
    'WINDOWS',
    'WINDOWS\\SYSTEM',
    'WINDOWS\\Start Menu',
    'WINDOWS\\Start Menu\\Programs',
    'WINDOWS\\Start Menu\\Programs\\StartUp',
  ])
    fatMkdir(path, offset, dir);
  fatPut(path, offset, 'WINDOWS\\WIN.INI', WIN_INI);
  fatPut(path, offset, 'WINDOWS\\SYSTEM\\WSOCK32.DLL', 'not a real dll');
  if (options.winsock2) fatPut(path, offset, 'WINDOWS\\SYSTEM\\WS2_32.DLL', 'not a real dll');
  return offset;
}

/** A FAT16 disk laid out like an installed NT 4 on FAT: BOOT.INI and WINNT\SYSTEM32\CONFIG\SOFTWARE with Winlogon and Run. */
export async function makeNt4Disk(path: string, options: { withKeys?: boolean; bootIni?: string } = {}): Promise<number> {
  const offset = await makeFatDisk(path, 16);
  fatPut(
    path,
    offset,
    'BOOT.INI',
    options.bootIni ??
      '[boot loader]\r\ntimeout=30\r\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\WINNT\r\n[operating systems]\r\nmulti(0)disk(0)rdisk(0)partition(1)\\WINNT="Windows NT Workstation Version 4.00"\r\n',
  );
  for (const dir of ['WINNT', 'WINNT\\SYSTEM32', 'WINNT\\SYSTEM32\\CONFIG']) fatMkdir(path, offset, dir);
  const dir = mkdtempSync(join(tmpdir(), 'hive-'));
  try {
    const hive = join(dir, 'SOFTWARE');
    writeFileSync(hive, emptyHive());
    if (options.withKeys ?? true) {
      const levels = [
        'Microsoft',
        'Microsoft\\Windows NT',
        'Microsoft\\Windows NT\\CurrentVersion',
        'Microsoft\\Windows NT\\CurrentVersion\\Winlogon',
        'Microsoft\\Windows',
        'Microsoft\\Windows\\CurrentVersion',
        'Microsoft\\Windows\\CurrentVersion\\Run',
      ];
      const reg = [
        'REGEDIT4',
        '',
        ...levels.flatMap((key) => [`[HKEY_LOCAL_MACHINE\\SOFTWARE\\${key}]`, '']),
        '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon]',
        '"Shell"="Explorer.exe"',
        '"AutoAdminLogon"="0"',
        '',
      ];
      writeFileSync(join(dir, 'keys.reg'), reg.join('\r\n'));
      execFileSync('hivexregedit', ['--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SOFTWARE', hive, join(dir, 'keys.reg')], { stdio: 'pipe' });
    }
    fatPut(path, offset, 'WINNT\\SYSTEM32\\CONFIG\\SOFTWARE', readFileBuffer(hive));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return offset;
}

/**
 * A FAT16 disk laid out like an installed Windows 2000 on FAT: BOOT.INI as
 * 2000 writes it (the /fastdetect entry), WINNT\\SYSTEM32\\CONFIG\\SOFTWARE
 * with Winlogon and Run, and the Documents and Settings folder 2000 adds.
 */
export async function makeWin2000Disk(path: string): Promise<number> {
  const offset = await makeNt4Disk(path, {
    bootIni:
      '[boot loader]\r\ntimeout=30\r\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\WINNT\r\n[operating systems]\r\n' +
      'multi(0)disk(0)rdisk(0)partition(1)\\WINNT="Microsoft Windows 2000 Professional" /fastdetect\r\n',
  });
  fatMkdir(path, offset, 'Documents and Settings');
  return offset;
}

/**
 * A FAT32 disk laid out like an installed Windows Me: MSDOS.SYS [Paths], an
 * AUTOEXEC.BAT that holds only SET lines (Me reads nothing else from it, KB
 * Q269524), WINDOWS\\WIN.INI and ws2_32.dll (Me ships Winsock 2).
 */
export async function makeWinMeDisk(path: string): Promise<number> {
  const offset = await makeWin9xDisk(path, 32, { winsock2: true });
  fatPut(path, offset, 'AUTOEXEC.BAT', ME_AUTOEXEC_BAT);
  return offset;
}

export const ME_AUTOEXEC_BAT = 'SET windir=C:\\WINDOWS\r\nSET TEMP=C:\\WINDOWS\\TEMP\r\n';

function readFileBuffer(path: string): Buffer {
  return execFileSync('cat', [path], { maxBuffer: 64 << 20 });
}

/** A disk whose only partition is NTFS (type 07 and an NTFS boot sector; nothing else of NTFS is needed to be refused). */
export async function makeNtfsDisk(path: string): Promise<void> {
  await writeFile(path, Buffer.alloc(4 * 1024 * 1024));
  await writeAt(path, 0, mbr([{ type: 0x07, startLba: START_LBA, sectors: 8192 - START_LBA, active: true }]));
  const boot = Buffer.alloc(512);
  boot.set([0xeb, 0x52, 0x90], 0);
  boot.write('NTFS    ', 3, 'latin1');
  boot[510] = 0x55;
  boot[511] = 0xaa;
  await writeAt(path, START_LBA * 512, boot);
}

/**
 * An empty registry hive in the NT "regf" format: a header block, one 4 KiB
 * hbin with the root key (nk) and its security cell (sk), the rest free.
 * Offsets inside the data are relative to the first hbin (file offset 4096).
 */
export function emptyHive(): Buffer {
  const header = Buffer.alloc(4096);
  const bin = Buffer.alloc(4096);
  bin.write('hbin', 0, 'latin1');
  bin.writeUInt32LE(0, 4);
  bin.writeUInt32LE(4096, 8);
  const rootName = 'ROOT';
  const nkOffset = 0x20;
  const nkSize = align8(4 + 0x4c + rootName.length);
  const skOffset = nkOffset + nkSize;
  const descriptor = Buffer.from([1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const skSize = align8(4 + 0x14 + descriptor.length);
  // nk: root key, flags ROOT|NO_DELETE|COMP_NAME, no subkeys, no values, no class.
  const nk = nkOffset;
  bin.writeInt32LE(-nkSize, nk);
  bin.write('nk', nk + 4, 'latin1');
  bin.writeUInt16LE(0x2c, nk + 6);
  bin.writeUInt32LE(0xffffffff, nk + 4 + 0x10); // parent
  bin.writeUInt32LE(0xffffffff, nk + 4 + 0x1c); // subkey list
  bin.writeUInt32LE(0xffffffff, nk + 4 + 0x20); // volatile subkey list
  bin.writeUInt32LE(0xffffffff, nk + 4 + 0x28); // value list
  bin.writeUInt32LE(skOffset, nk + 4 + 0x2c); //   security
  bin.writeUInt32LE(0xffffffff, nk + 4 + 0x30); // class name
  bin.writeUInt16LE(rootName.length, nk + 4 + 0x48);
  bin.write(rootName, nk + 4 + 0x4c, 'latin1');
  // sk: the only security cell, linked to itself, used once.
  const sk = skOffset;
  bin.writeInt32LE(-skSize, sk);
  bin.write('sk', sk + 4, 'latin1');
  bin.writeUInt32LE(skOffset, sk + 4 + 0x04);
  bin.writeUInt32LE(skOffset, sk + 4 + 0x08);
  bin.writeUInt32LE(1, sk + 4 + 0x0c);
  bin.writeUInt32LE(descriptor.length, sk + 4 + 0x10);
  descriptor.copy(bin, sk + 4 + 0x14);
  const free = skOffset + skSize;
  bin.writeInt32LE(4096 - free, free);

  header.write('regf', 0, 'latin1');
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(1, 8);
  header.writeUInt32LE(1, 0x14); // major
  header.writeUInt32LE(3, 0x18); // minor
  header.writeUInt32LE(0, 0x1c); // primary file
  header.writeUInt32LE(1, 0x20); // direct memory load
  header.writeUInt32LE(nkOffset, 0x24);
  header.writeUInt32LE(4096, 0x28);
  header.writeUInt32LE(1, 0x2c);
  let sum = 0;
  for (let at = 0; at < 0x1fc; at += 4) sum = (sum ^ header.readUInt32LE(at)) >>> 0;
  header.writeUInt32LE(sum, 0x1fc);
  return Buffer.concat([header, bin]);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
