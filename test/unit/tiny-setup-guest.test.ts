import { describe, expect, it } from 'vitest';
import { RealModeCode } from '../support/real-mode-code.ts';
import { BOOT_PROGRAM_BYTES, SETUP_BANNER, firstBootMbrCode, setupBootProgram } from '../support/tiny-setup-guest.ts';

describe('tiny setup guest (the install test stand-in for Windows setup)', () => {
  it('the CD boot program is 2048 bytes and jumps over the boot info table xorriso writes at 8..63', () => {
    const program = setupBootProgram(7);
    expect(program.length).toBe(BOOT_PROGRAM_BYTES);
    expect([...program.subarray(0, 2)]).toEqual([0xeb, 0x3e]);
    expect(program.subarray(2, 0x40).every((byte) => byte === 0)).toBe(true);
    // jmp far 07C0:start, start right after it.
    expect([...program.subarray(0x40, 0x45)]).toEqual([0xea, 0x45, 0x00, 0xc0, 0x07]);
    expect(program.includes(Buffer.from(`${SETUP_BANNER}\r\n\0`, 'latin1'))).toBe(true);
    expect(setupBootProgram(300).equals(program)).toBe(false);
  });

  it('the first-boot code fits the MBR before its partition table', () => {
    const code = firstBootMbrCode(1, 400);
    expect(code.length).toBeLessThanOrEqual(446);
    expect(code[0]).toBe(0xea);
    expect(code.readUInt16LE(3)).toBe(0x0000);
  });

  it('computes label distances and refuses a short jump that cannot reach', () => {
    const near = new RealModeCode(0x100)
      .label('top')
      .op([0x90], 'nop')
      .ref([0xeb], 'top', 'rel8', 'jmp short top')
      .ref([0xbe], 'top', 'abs16', 'mov si, top');
    expect([...near.assemble()]).toEqual([0x90, 0xeb, 0xfd, 0xbe, 0x00, 0x01]);
    expect(near.listing().split('\n')).toEqual([
      'top:',
      '  0100  90                       nop',
      '  0101  eb fd                    jmp short top',
      '  0103  be 00 01                 mov si, top',
    ]);
    const far = new RealModeCode(0).ref([0xeb], 'end', 'rel8', 'jmp short end').padTo(200, 'gap').label('end');
    expect(() => far.assemble()).toThrow('end: 198 bytes away, too far for a short jump');
  });
});
