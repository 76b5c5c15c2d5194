import { open } from 'node:fs/promises';
import { GuestBuildError } from './errors.ts';

/**
 * Sets the link time in a PE file's COFF header to 0, as mingw's
 * --no-insert-timestamp does. wlink has no such option and stamps every link,
 * which was the only byte that differed between two Open Watcom builds of the
 * same sources; Windows does not read the field for an executable. The
 * optional header's checksum covers it, so a non-zero checksum is cleared too
 * (the loader checks it only for drivers and boot files).
 */
export async function clearPeTimestamp(app: string, path: string): Promise<{ previous: number }> {
  const file = await open(path, 'r+');
  try {
    const head = Buffer.alloc(0x40);
    await file.read(head, 0, head.length, 0);
    const peOffset = head.readUInt32LE(0x3c);
    const pe = Buffer.alloc(24 + 68);
    await file.read(pe, 0, pe.length, peOffset);
    if (head.toString('latin1', 0, 2) !== 'MZ' || pe.toString('latin1', 0, 4) !== 'PE\0\0') {
      throw new GuestBuildError(app, `clear the link time of ${path}`, null, `${path} is not a PE file (no MZ/PE signature)`);
    }
    const previous = pe.readUInt32LE(8);
    await file.write(Buffer.alloc(4), 0, 4, peOffset + 8);
    // Optional header: CheckSum at offset 64 (PE32 and PE32+ alike).
    if (pe.readUInt32LE(24 + 64) !== 0) await file.write(Buffer.alloc(4), 0, 4, peOffset + 24 + 64);
    return { previous };
  } finally {
    await file.close();
  }
}
