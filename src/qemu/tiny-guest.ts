/**
 * A guest small enough to write by hand: a Multiboot image (QEMU loads it with
 * `-kernel`, no disk, no firmware image of ours) whose code prints a banner on
 * COM1 and then either leaves QEMU through isa-debug-exit (the KVM probe: a
 * guest that really ran under an accelerator says so in a few milliseconds) or
 * echoes every byte it receives on COM1 back (a running guest whose state can
 * be saved and restored, and whose liveness the host can check).
 *
 * The machine code is hand-assembled i386 (32-bit protected mode, as Multiboot
 * enters it); each instruction is listed with its mnemonic.
 */

export const TINY_GUEST_BANNER = 'RETROLAB-TINY-GUEST-UP\n';

/** isa-debug-exit port the `exit` variant writes to; QEMU then exits with status (value << 1) | 1. */
export const DEBUG_EXIT_PORT = 0xf4;

const LOAD_ADDRESS = 0x0010_0000;
const HEADER_SIZE = 32;
const MULTIBOOT_MAGIC = 0x1bad_b002;
/** Bit 16: the header carries load addresses, so QEMU needs no ELF parsing. */
const MULTIBOOT_FLAGS = 0x0001_0000;

export function tinyGuestImage(behaviour: 'exit' | 'echo'): Buffer {
  const tail = behaviour === 'exit' ? exitCode() : echoCode();
  // The banner follows the code; its address is patched into the first instruction.
  const printLength = 17;
  const codeLength = printLength + tail.length;
  const bannerAddress = LOAD_ADDRESS + HEADER_SIZE + codeLength;
  const print = Buffer.from([
    0xbe,
    ...le32(bannerAddress), // mov esi, banner
    0x66,
    0xba,
    0xf8,
    0x03, //       mov dx, 0x3f8 (COM1 data)
    0xac, //                         next: lodsb
    0x84,
    0xc0, //                   test al, al
    0x74,
    0x03, //                   jz done (+3)
    0xee, //                         out dx, al
    0xeb,
    0xf8, //                   jmp next (-8)
    //                               done: the tail follows
  ]);
  if (print.length !== printLength) throw new Error('tiny guest: print block length changed');
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(MULTIBOOT_MAGIC, 0);
  header.writeUInt32LE(MULTIBOOT_FLAGS, 4);
  header.writeUInt32LE((0x1_0000_0000 - ((MULTIBOOT_MAGIC + MULTIBOOT_FLAGS) % 0x1_0000_0000)) % 0x1_0000_0000, 8);
  header.writeUInt32LE(LOAD_ADDRESS, 12); // header_addr
  header.writeUInt32LE(LOAD_ADDRESS, 16); // load_addr
  header.writeUInt32LE(0, 20); //            load_end_addr: the whole file
  header.writeUInt32LE(0, 24); //            bss_end_addr: none
  header.writeUInt32LE(LOAD_ADDRESS + HEADER_SIZE, 28); // entry_addr
  return Buffer.concat([header, print, tail, Buffer.from(TINY_GUEST_BANNER, 'latin1'), Buffer.from([0])]);
}

function exitCode(): Buffer {
  return Buffer.from([
    0x66,
    0xba,
    DEBUG_EXIT_PORT,
    0x00, // mov dx, 0xf4
    0xb0,
    0x00, //                        mov al, 0
    0xee, //                              out dx, al   (QEMU exits with status 1)
    0xf4, //                              halt: hlt
    0xeb,
    0xfd, //                        jmp halt (-3)
  ]);
}

function echoCode(): Buffer {
  return Buffer.from([
    0x66,
    0xba,
    0xfd,
    0x03, // poll: mov dx, 0x3fd (COM1 line status)
    0xec, //                          in al, dx
    0xa8,
    0x01, //                    test al, 1 (data ready)
    0x74,
    0xf7, //                    jz poll (-9)
    0x66,
    0xba,
    0xf8,
    0x03, //        mov dx, 0x3f8
    0xec, //                          in al, dx
    0xee, //                          out dx, al
    0xeb,
    0xef, //                    jmp poll (-17)
  ]);
}

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}
