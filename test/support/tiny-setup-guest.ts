import { RealModeCode } from './real-mode-code.ts';

/**
 * A stand-in for Windows setup, small enough to write by hand, for testing
 * the unattended-install driver on a real QEMU boot. Two 16-bit real-mode
 * programs, each instruction listed with its mnemonic:
 *
 * - the CD boot program (El Torito "no emulation", 2048 bytes): clears the
 *   screen, prints a banner on COM1 and the screen (top line), reads the first data sector of the
 *   answer floppy (LBA 33 = C0/H1/S16 on a 1.44 MB FAT12 floppy made by
 *   mkfs.fat: the first file written lands there) and prints it, then
 *   "installs": copies the payload that follows it on the CD to the hard
 *   disk with int 13h extensions, and resets the machine as setup's reboot
 *   would. Without INI text at that sector it prints so and hangs.
 * - the first-boot program (the payload disk's MBR code): "finishes setup"
 *   by copying one pending sector (disk LBA 1) over another (patched in),
 *   then resets again.
 *
 * The payload sits right after the boot program in the same ISO file, so
 * its LBA is the boot file's LBA (which xorriso's -boot-info-table writes
 * at offset 12) plus one.
 */

export const SETUP_BANNER = 'RETROLAB-TINY-SETUP';
export const ANSWER_BEGIN = 'ANSWER FILE:';
export const ANSWER_END = 'END OF ANSWER FILE';
export const INSTALLED_LINE = 'COPIED, RESTARTING';
export const NO_ANSWER_LINE = 'NO ANSWER FILE ON A:, WAITING';
export const FIRST_BOOT_BANNER = 'RETROLAB-TINY-SETUP FIRST BOOT FROM C:';
export const FIRST_BOOT_DONE = 'SETUP FINISHED, RESTARTING';

/** The CD boot program's size: -boot-load-size 4 loads four 512-byte units. */
export const BOOT_PROGRAM_BYTES = 2048;
/** One copy step: 16 CD sectors of 2048 bytes = 64 disk sectors of 512 bytes. */
export const CHUNK_BYTES = 32 * 1024;

const LOAD_SEGMENT = 0x07c0;
const SECTOR_BUFFER = 0x0800;
const COPY_SEGMENT = 0x1000;
const BOOT_INFO_FILE_LBA = 12;

/** The CD boot program for a payload of `chunks` × 32 KiB. */
export function setupBootProgram(chunks: number): Buffer {
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > 0xffff) throw new Error(`chunks: ${chunks} out of range`);
  const c = new RealModeCode(0);
  c.ref([0xeb], 'entry', 'rel8', 'jmp short entry (over the boot info table at 8..63)');
  c.padTo(0x40, 'boot info table (xorriso -boot-info-table)');
  c.label('entry');
  // SeaBIOS enters at 07C0:0000; a far jump makes that so whatever the BIOS chose.
  c.ref([0xea], 'start', 'abs16', 'jmp far 07C0:start', [LOAD_SEGMENT & 0xff, LOAD_SEGMENT >> 8]);
  c.label('start');
  c.op([0xfa], 'cli');
  c.op([0x31, 0xc0], 'xor ax, ax');
  c.op([0x8e, 0xd0], 'mov ss, ax');
  c.op([0xbc, 0x00, 0x7c], 'mov sp, 0x7c00');
  c.op([0xfb], 'sti');
  c.op([0x8c, 0xc8], 'mov ax, cs');
  c.op([0x8e, 0xd8], 'mov ds, ax');
  c.op([0x8e, 0xc0], 'mov es, ax');
  c.op([0xfc], 'cld');
  c.ref([0x88, 0x16], 'boot_drive', 'abs16', 'mov [boot_drive], dl');
  c.op([0xb8, 0x03, 0x00], 'mov ax, 0x0003 (set 80x25 text mode: clears the BIOS messages)');
  c.op([0xcd, 0x10], 'int 0x10');
  c.ref([0xbe], 'banner', 'abs16', 'mov si, banner');
  c.ref([0xe8], 'print', 'rel16', 'call print');

  c.op([0xbb, SECTOR_BUFFER & 0xff, SECTOR_BUFFER >> 8], 'mov bx, 0x0800 (ES:BX = sector buffer)');
  c.op([0xb8, 0x01, 0x02], 'mov ax, 0x0201 (read, 1 sector)');
  c.op([0xb9, 0x10, 0x00], 'mov cx, 0x0010 (cylinder 0, sector 16)');
  c.op([0xba, 0x00, 0x01], 'mov dx, 0x0100 (head 1, drive A:)');
  c.op([0xcd, 0x13], 'int 0x13');
  c.op([0x73, 0x03], 'jnc +3');
  c.ref([0xe9], 'floppy_error', 'rel16', 'jmp floppy_error');
  c.op([0x80, 0x3e, SECTOR_BUFFER & 0xff, SECTOR_BUFFER >> 8, 0x5b], "cmp byte [0x0800], '['");
  c.op([0x74, 0x03], 'je +3');
  c.ref([0xe9], 'no_answer', 'rel16', 'jmp no_answer');
  c.ref([0xbe], 'answer_begin', 'abs16', 'mov si, answer_begin');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.op([0xbe, SECTOR_BUFFER & 0xff, SECTOR_BUFFER >> 8], 'mov si, 0x0800');
  c.op([0xb9, 0x00, 0x02], 'mov cx, 512');
  c.label('echo');
  c.op([0xac], 'lodsb');
  c.op([0x84, 0xc0], 'test al, al');
  c.ref([0x74], 'echo_done', 'rel8', 'jz echo_done');
  c.ref([0xe8], 'putc', 'rel16', 'call putc');
  c.ref([0xe2], 'echo', 'rel8', 'loop echo');
  c.label('echo_done');
  c.ref([0xbe], 'answer_end', 'abs16', 'mov si, answer_end');
  c.ref([0xe8], 'print', 'rel16', 'call print');

  c.op([0xa1, BOOT_INFO_FILE_LBA, 0x00], 'mov ax, [12] (boot file LBA, low word)');
  c.op([0x8b, 0x16, BOOT_INFO_FILE_LBA + 2, 0x00], 'mov dx, [14] (high word)');
  c.op([0x83, 0xc0, 0x01], 'add ax, 1 (the payload follows the boot program)');
  c.op([0x83, 0xd2, 0x00], 'adc dx, 0');
  c.ref([0xa3], 'cd_lba', 'abs16', 'mov [cd_lba], ax');
  c.ref([0x89, 0x16], 'cd_lba_high', 'abs16', 'mov [cd_lba_high], dx');
  c.ref([0x8b, 0x0e], 'chunks', 'abs16', 'mov cx, [chunks]');
  c.label('copy');
  c.op([0x51], 'push cx');
  c.ref([0xbe], 'cd_dap', 'abs16', 'mov si, cd_dap');
  c.op([0xb4, 0x42], 'mov ah, 0x42 (extended read)');
  c.ref([0x8a, 0x16], 'boot_drive', 'abs16', 'mov dl, [boot_drive]');
  c.op([0xcd, 0x13], 'int 0x13');
  c.op([0x73, 0x03], 'jnc +3');
  c.ref([0xe9], 'read_error', 'rel16', 'jmp read_error');
  c.ref([0xbe], 'hd_dap', 'abs16', 'mov si, hd_dap');
  c.op([0xb8, 0x00, 0x43], 'mov ax, 0x4300 (extended write, no verify)');
  c.op([0xb2, 0x80], 'mov dl, 0x80 (first hard disk)');
  c.op([0xcd, 0x13], 'int 0x13');
  c.op([0x73, 0x03], 'jnc +3');
  c.ref([0xe9], 'write_error', 'rel16', 'jmp write_error');
  c.ref([0x83, 0x06], 'cd_lba', 'abs16', 'add word [cd_lba], 16', [0x10]);
  c.ref([0x83, 0x16], 'cd_lba_high', 'abs16', 'adc word [cd_lba_high], 0', [0x00]);
  c.ref([0x83, 0x06], 'hd_lba', 'abs16', 'add word [hd_lba], 64', [0x40]);
  c.ref([0x83, 0x16], 'hd_lba_high', 'abs16', 'adc word [hd_lba_high], 0', [0x00]);
  c.op([0x59], 'pop cx');
  c.op([0x49], 'dec cx');
  c.op([0x74, 0x03], 'jz +3');
  c.ref([0xe9], 'copy', 'rel16', 'jmp copy');
  c.ref([0xbe], 'installed', 'abs16', 'mov si, installed');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  emitResetAndHalt(c);

  c.label('no_answer');
  c.ref([0xbe], 'no_answer_text', 'abs16', 'mov si, no_answer_text');
  c.ref([0xeb], 'fail', 'rel8', 'jmp short fail');
  c.label('floppy_error');
  c.ref([0xbe], 'floppy_error_text', 'abs16', 'mov si, floppy_error_text');
  c.ref([0xeb], 'fail', 'rel8', 'jmp short fail');
  c.label('read_error');
  c.ref([0xbe], 'read_error_text', 'abs16', 'mov si, read_error_text');
  c.ref([0xeb], 'fail', 'rel8', 'jmp short fail');
  c.label('write_error');
  c.ref([0xbe], 'write_error_text', 'abs16', 'mov si, write_error_text');
  c.label('fail');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.ref([0xeb], 'halt', 'rel8', 'jmp short halt');
  emitPrint(c);

  c.label('boot_drive').data([0], 'boot_drive: db 0');
  c.label('chunks').data([chunks & 0xff, chunks >> 8], `chunks: dw ${chunks}`);
  c.label('cd_dap').data(
    [0x10, 0x00, 0x10, 0x00, 0x00, 0x00, COPY_SEGMENT & 0xff, COPY_SEGMENT >> 8],
    'cd_dap: size 16, 16 sectors, buffer 1000:0000',
  );
  c.label('cd_lba').data([0, 0], 'cd_lba (low)').label('cd_lba_high').data([0, 0, 0, 0, 0, 0], 'cd_lba (high)');
  c.label('hd_dap').data(
    [0x10, 0x00, 0x40, 0x00, 0x00, 0x00, COPY_SEGMENT & 0xff, COPY_SEGMENT >> 8],
    'hd_dap: size 16, 64 sectors, buffer 1000:0000',
  );
  c.label('hd_lba').data([0, 0], 'hd_lba (low)').label('hd_lba_high').data([0, 0, 0, 0, 0, 0], 'hd_lba (high)');
  text(c, 'banner', `${SETUP_BANNER}\r\n`);
  text(c, 'answer_begin', `${ANSWER_BEGIN}\r\n`);
  text(c, 'answer_end', `\r\n${ANSWER_END}\r\nINSTALLING\r\n`);
  text(c, 'installed', `${INSTALLED_LINE}\r\n`);
  text(c, 'no_answer_text', `${NO_ANSWER_LINE}\r\n`);
  text(c, 'floppy_error_text', 'FLOPPY READ ERROR\r\n');
  text(c, 'read_error_text', 'CD READ ERROR\r\n');
  text(c, 'write_error_text', 'DISK WRITE ERROR\r\n');
  c.padTo(BOOT_PROGRAM_BYTES, 'padding');
  return c.assemble();
}

/**
 * MBR code (at most 446 bytes, loaded at 0000:7C00 with DL = the disk) that
 * copies disk sector `fromLba` over `toLba`, then resets.
 */
export function firstBootMbrCode(fromLba: number, toLba: number): Buffer {
  const buffer = 0x8000;
  const c = new RealModeCode(0x7c00);
  c.ref([0xea], 'start', 'abs16', 'jmp far 0000:start', [0x00, 0x00]);
  c.label('start');
  c.op([0xfa], 'cli');
  c.op([0x31, 0xc0], 'xor ax, ax');
  c.op([0x8e, 0xd0], 'mov ss, ax');
  c.op([0xbc, 0x00, 0x7c], 'mov sp, 0x7c00');
  c.op([0xfb], 'sti');
  c.op([0x8e, 0xd8], 'mov ds, ax');
  c.op([0x8e, 0xc0], 'mov es, ax');
  c.op([0xfc], 'cld');
  c.ref([0x88, 0x16], 'drive', 'abs16', 'mov [drive], dl');
  c.ref([0xbe], 'banner', 'abs16', 'mov si, banner');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.ref([0xbe], 'read_dap', 'abs16', 'mov si, read_dap');
  c.op([0xb4, 0x42], 'mov ah, 0x42 (extended read)');
  c.ref([0x8a, 0x16], 'drive', 'abs16', 'mov dl, [drive]');
  c.op([0xcd, 0x13], 'int 0x13');
  c.ref([0x72], 'error', 'rel8', 'jc error');
  c.ref([0xbe], 'write_dap', 'abs16', 'mov si, write_dap');
  c.op([0xb8, 0x00, 0x43], 'mov ax, 0x4300 (extended write, no verify)');
  c.ref([0x8a, 0x16], 'drive', 'abs16', 'mov dl, [drive]');
  c.op([0xcd, 0x13], 'int 0x13');
  c.ref([0x72], 'error', 'rel8', 'jc error');
  c.ref([0xbe], 'done', 'abs16', 'mov si, done');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  emitResetAndHalt(c);
  c.label('error');
  c.ref([0xbe], 'error_text', 'abs16', 'mov si, error_text');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.ref([0xeb], 'halt', 'rel8', 'jmp short halt');
  emitPrint(c);
  c.label('drive').data([0x80], 'drive: db 0x80');
  c.label('read_dap').data(dap(1, buffer, fromLba), `read_dap: 1 sector at LBA ${fromLba} to 0000:8000`);
  c.label('write_dap').data(dap(1, buffer, toLba), `write_dap: 1 sector from 0000:8000 to LBA ${toLba}`);
  text(c, 'banner', `${FIRST_BOOT_BANNER}\r\n`);
  text(c, 'done', `${FIRST_BOOT_DONE}\r\n`);
  text(c, 'error_text', 'FIRST BOOT DISK ERROR\r\n');
  const code = c.assemble();
  if (code.length > 446) throw new Error(`first-boot code is ${code.length} bytes; the MBR has room for 446`);
  return code;
}

/** Pulses the keyboard controller's reset line (QEMU with -no-reboot then exits), and halts should that not happen. */
function emitResetAndHalt(c: RealModeCode): void {
  c.op([0xb0, 0xfe], 'mov al, 0xfe');
  c.op([0xe6, 0x64], 'out 0x64, al (pulse the reset line)');
  c.label('halt');
  c.op([0xfa], 'cli');
  c.op([0xf4], 'hlt');
  c.ref([0xeb], 'halt', 'rel8', 'jmp short halt');
}

/** print: DS:SI = NUL-terminated text; putc: AL to COM1 (once its transmitter is empty) and to the screen. */
function emitPrint(c: RealModeCode): void {
  c.label('print');
  c.op([0xac], 'lodsb');
  c.op([0x84, 0xc0], 'test al, al');
  c.ref([0x74], 'print_done', 'rel8', 'jz print_done');
  c.ref([0xe8], 'putc', 'rel16', 'call putc');
  c.ref([0xeb], 'print', 'rel8', 'jmp short print');
  c.label('print_done');
  c.op([0xc3], 'ret');
  c.label('putc');
  c.op([0x50], 'push ax');
  c.op([0xba, 0xfd, 0x03], 'mov dx, 0x3fd (COM1 line status)');
  c.label('putc_wait');
  c.op([0xec], 'in al, dx');
  c.op([0xa8, 0x20], 'test al, 0x20 (transmitter holding register empty)');
  c.ref([0x74], 'putc_wait', 'rel8', 'jz putc_wait');
  c.op([0x58], 'pop ax');
  c.op([0xba, 0xf8, 0x03], 'mov dx, 0x3f8 (COM1 data)');
  c.op([0xee], 'out dx, al');
  c.op([0xb4, 0x0e], 'mov ah, 0x0e (teletype output)');
  c.op([0xbb, 0x07, 0x00], 'mov bx, 0x0007 (page 0, grey on black)');
  c.op([0xcd, 0x10], 'int 0x10');
  c.op([0xc3], 'ret');
}

/** An int 13h extensions disk address packet: size, count, buffer offset:segment, 64-bit LBA. */
function dap(sectors: number, bufferOffset: number, lba: number): number[] {
  const packet = Buffer.alloc(16);
  packet[0] = 0x10;
  packet.writeUInt16LE(sectors, 2);
  packet.writeUInt16LE(bufferOffset, 4);
  packet.writeUInt16LE(0, 6);
  packet.writeUInt32LE(lba, 8);
  return [...packet];
}

function text(c: RealModeCode, label: string, value: string): void {
  c.label(label).data([...Buffer.from(value, 'latin1'), 0], `${label}: db ${JSON.stringify(value)}, 0`);
}

export const DOS_STAND_IN_BANNER = 'RETROLAB-TINY-DOS FROM A:';
export const DOS_STAND_IN_PARTITION = 'C: ACTIVE FAT16 PARTITION, LABEL ';
export const DOS_STAND_IN_NO_PARTITION = 'C: NO ACTIVE FAT16 PARTITION';

/**
 * A stand-in for a DOS boot floppy, for NT 4's `winnt /b` route: boot code
 * patched into a FAT12 floppy's boot sector behind its BPB (mtools can still
 * write the floppy). Booted (loaded at 0000:7C00), it prints a banner, reads
 * the hard disk's MBR and says whether partition 1 is an active FAT16 (type
 * 06) one, prints the volume label of the boot sector at LBA 63 (where that
 * partition starts), then resets as winnt's restart would.
 */
export function dosStandInBootSector(floppyBootSector: Buffer): Buffer {
  const codeAt = 0x3e;
  const sector = Buffer.from(floppyBootSector.subarray(0, 512));
  if (sector[0] !== 0xeb || sector[1] !== codeAt - 2) throw new Error('not a mkfs.fat floppy boot sector (jmp short 0x3e expected)');
  const buffer = 0x8000;
  const c = new RealModeCode(0x7c00 + codeAt);
  c.ref([0xea], 'start', 'abs16', 'jmp far 0000:start', [0x00, 0x00]);
  c.label('start');
  c.op([0xfa], 'cli');
  c.op([0x31, 0xc0], 'xor ax, ax');
  c.op([0x8e, 0xd0], 'mov ss, ax');
  c.op([0xbc, 0x00, 0x7c], 'mov sp, 0x7c00');
  c.op([0xfb], 'sti');
  c.op([0x8e, 0xd8], 'mov ds, ax');
  c.op([0x8e, 0xc0], 'mov es, ax');
  c.op([0xfc], 'cld');
  c.ref([0xbe], 'banner', 'abs16', 'mov si, banner');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.ref([0xbe], 'mbr_dap', 'abs16', 'mov si, mbr_dap');
  c.op([0xb4, 0x42], 'mov ah, 0x42 (extended read)');
  c.op([0xb2, 0x80], 'mov dl, 0x80 (first hard disk)');
  c.op([0xcd, 0x13], 'int 0x13');
  c.ref([0x72], 'error', 'rel8', 'jc error');
  c.op([0x80, 0x3e, 0xbe, 0x81, 0x80], 'cmp byte [0x81be], 0x80 (partition 1 active)');
  c.ref([0x75], 'no_partition', 'rel8', 'jne no_partition');
  c.op([0x80, 0x3e, 0xc2, 0x81, 0x06], 'cmp byte [0x81c2], 0x06 (partition 1 is FAT16)');
  c.ref([0x75], 'no_partition', 'rel8', 'jne no_partition');
  c.ref([0xbe], 'partition_ok', 'abs16', 'mov si, partition_ok');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.ref([0xbe], 'vbr_dap', 'abs16', 'mov si, vbr_dap');
  c.op([0xb4, 0x42], 'mov ah, 0x42 (extended read)');
  c.op([0xb2, 0x80], 'mov dl, 0x80');
  c.op([0xcd, 0x13], 'int 0x13');
  c.ref([0x72], 'error', 'rel8', 'jc error');
  c.op([0xbe, 0x2b, 0x80], 'mov si, 0x802b (the BPB volume label)');
  c.op([0xb9, 0x0b, 0x00], 'mov cx, 11');
  c.label('label_char');
  c.op([0xac], 'lodsb');
  c.ref([0xe8], 'putc', 'rel16', 'call putc');
  c.ref([0xe2], 'label_char', 'rel8', 'loop label_char');
  c.ref([0xbe], 'crlf', 'abs16', 'mov si, crlf');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  emitResetAndHalt(c);
  c.label('no_partition');
  c.ref([0xbe], 'no_partition_text', 'abs16', 'mov si, no_partition_text');
  c.ref([0xeb], 'fail', 'rel8', 'jmp short fail');
  c.label('error');
  c.ref([0xbe], 'error_text', 'abs16', 'mov si, error_text');
  c.label('fail');
  c.ref([0xe8], 'print', 'rel16', 'call print');
  c.ref([0xeb], 'halt', 'rel8', 'jmp short halt');
  emitPrint(c);
  c.label('mbr_dap').data(dap(1, buffer, 0), 'mbr_dap: 1 sector at LBA 0 to 0000:8000');
  c.label('vbr_dap').data(dap(1, buffer, 63), 'vbr_dap: 1 sector at LBA 63 to 0000:8000');
  text(c, 'banner', `${DOS_STAND_IN_BANNER}\r\n`);
  text(c, 'partition_ok', DOS_STAND_IN_PARTITION);
  text(c, 'crlf', '\r\n');
  text(c, 'no_partition_text', `${DOS_STAND_IN_NO_PARTITION}\r\n`);
  text(c, 'error_text', 'HARD DISK READ ERROR\r\n');
  const code = c.assemble();
  if (code.length > 510 - codeAt)
    throw new Error(`stand-in DOS boot code is ${code.length} bytes; the boot sector has room for ${510 - codeAt}`);
  code.copy(sector, codeAt);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}
