import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PpmFormatError } from '../../src/qemu/errors.ts';
import { PNG_SIGNATURE, convertPpmFileToPng, encodePng, parsePpm } from '../../src/qemu/ppm-to-png.ts';
import { crc32 } from '../../src/util/crc32.ts';

function ppm(width: number, height: number, header = `P6\n${width} ${height}\n255\n`): { file: Buffer; pixels: Buffer } {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) & 0xff;
  return { file: Buffer.concat([Buffer.from(header, 'latin1'), pixels]), pixels };
}

interface Chunk {
  type: string;
  body: Buffer;
  crc: number;
}

function chunks(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  for (let offset = 8; offset < png.length;) {
    const length = png.readUInt32BE(offset);
    out.push({
      type: png.toString('latin1', offset + 4, offset + 8),
      body: png.subarray(offset + 8, offset + 8 + length),
      crc: png.readUInt32BE(offset + 8 + length),
    });
    offset += 12 + length;
  }
  return out;
}

describe('parsePpm', () => {
  it('reads the header (comments and any whitespace) and the pixels', () => {
    const { file, pixels } = ppm(3, 2, 'P6 # made by hand\n3\t2\r\n# maxval next\n255\n');
    const image = parsePpm(file);
    expect(image.width).toBe(3);
    expect(image.height).toBe(2);
    expect(image.pixels.equals(pixels)).toBe(true);
  });

  it('rejects what QEMU does not write, naming the file', () => {
    expect(() => parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0\n'), 'shot.ppm')).toThrow(
      'shot.ppm: not a binary PPM: starts with "P3", expected P6',
    );
    expect(() => parsePpm(Buffer.from('P6\n1 1\n65535\n'))).toThrow('PPM maxval 65535 is not supported');
    expect(() => parsePpm(Buffer.from('P6\n0 1\n255\n'))).toThrow('bad PPM size 0x1');
    expect(() => parsePpm(Buffer.concat([Buffer.from('P6\n2 2\n255\n'), Buffer.alloc(5)]))).toThrow(PpmFormatError);
    expect(() => parsePpm(Buffer.concat([Buffer.from('P6\n2 2\n255\n'), Buffer.alloc(5)]))).toThrow(
      'PPM is truncated: 5 pixel bytes for 2x2 (needs 12)',
    );
  });
});

describe('encodePng', () => {
  it('writes signature, IHDR, IDAT, IEND with correct CRCs and the pixels behind filter bytes', () => {
    const { file, pixels } = ppm(5, 4);
    const png = encodePng(parsePpm(file));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const list = chunks(png);
    expect(list.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (const c of list) {
      expect(c.crc).toBe(zlibCrc32(Buffer.concat([Buffer.from(c.type, 'latin1'), c.body])));
    }
    const ihdr = list[0]!.body;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]]).toEqual([5, 4, 8, 2, 0, 0, 0]);
    const raw = inflateSync(list[1]!.body);
    expect(raw.length).toBe((5 * 3 + 1) * 4);
    for (let y = 0; y < 4; y++) {
      expect(raw[y * 16]).toBe(0);
      expect(raw.subarray(y * 16 + 1, (y + 1) * 16).equals(pixels.subarray(y * 15, (y + 1) * 15))).toBe(true);
    }
    expect(list[2]!.body.length).toBe(0);
  });

  it('computes the CRC-32 PNG specifies', () => {
    expect(crc32(Buffer.from('IEND', 'latin1'))).toBe(0xae426082);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('convertPpmFileToPng', () => {
  it('turns a screendump file into a PNG file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'retrolab-ppm-'));
    try {
      await writeFile(join(dir, 'screen.ppm'), ppm(720, 400).file);
      const image = await convertPpmFileToPng(join(dir, 'screen.ppm'), join(dir, 'screen.png'));
      expect([image.width, image.height]).toEqual([720, 400]);
      const png = await readFile(join(dir, 'screen.png'));
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(png.readUInt32BE(16)).toBe(720);
      expect(png.readUInt32BE(20)).toBe(400);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
