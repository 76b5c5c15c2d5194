import { describe, expect, it } from 'vitest';
import { TINY_GUEST_BANNER, tinyGuestImage } from '../../src/qemu/tiny-guest.ts';

describe('tinyGuestImage', () => {
  it.each(['exit', 'echo'] as const)('%s: a Multiboot header QEMU accepts, entry right after it, banner in the image', (behaviour) => {
    const image = tinyGuestImage(behaviour);
    const magic = image.readUInt32LE(0);
    const flags = image.readUInt32LE(4);
    const checksum = image.readUInt32LE(8);
    expect(magic).toBe(0x1badb002);
    expect(flags).toBe(0x00010000);
    expect((magic + flags + checksum) % 2 ** 32).toBe(0);
    expect(image.readUInt32LE(12)).toBe(image.readUInt32LE(16));
    expect(image.readUInt32LE(28)).toBe(0x100000 + 32);
    // The first instruction loads the banner's address: mov esi, imm32.
    expect(image[32]).toBe(0xbe);
    const bannerAt = image.readUInt32LE(33) - 0x100000;
    expect(image.toString('latin1', bannerAt, bannerAt + TINY_GUEST_BANNER.length)).toBe(TINY_GUEST_BANNER);
    expect(image[bannerAt + TINY_GUEST_BANNER.length]).toBe(0);
  });
});
