import { crc32 } from '../util/crc32.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { PpmFormatError } from './errors.ts';

/** An 8-bit RGB image, rows top to bottom, 3 bytes a pixel. */
export interface RgbImage {
  width: number;
  height: number;
  pixels: Buffer;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads the binary PPM (P6, maxval 255) that QEMU's screendump writes. */
export function parsePpm(data: Buffer, file?: string): RgbImage {
  let offset = 0;
  const token = (): string => {
    for (;;) {
      while (offset < data.length && isSpace(data[offset])) offset++;
      if (data[offset] !== 0x23 /* # */) break;
      while (offset < data.length && data[offset] !== 0x0a) offset++;
    }
    const start = offset;
    while (offset < data.length && !isSpace(data[offset])) offset++;
    return data.toString('latin1', start, offset);
  };
  const magic = token();
  if (magic !== 'P6') throw new PpmFormatError(`not a binary PPM: starts with ${JSON.stringify(magic.slice(0, 8))}, expected P6`, file);
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (!isDimension(width) || !isDimension(height)) throw new PpmFormatError(`bad PPM size ${width}x${height}`, file);
  if (maxval !== 255) throw new PpmFormatError(`PPM maxval ${maxval} is not supported (QEMU writes 255)`, file);
  offset++; // the single whitespace byte that ends the header
  const size = width * height * 3;
  if (data.length - offset < size) {
    throw new PpmFormatError(`PPM is truncated: ${data.length - offset} pixel bytes for ${width}x${height} (needs ${size})`, file);
  }
  return { width, height, pixels: data.subarray(offset, offset + size) };
}

/** Encodes an RGB image as a PNG: signature, IHDR, one IDAT (filter 0 on every row), IEND. */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, pixels } = image;
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    pixels.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; //  bit depth
  header[9] = 2; //  colour type: truecolour
  header[10] = 0; // compression: deflate
  header[11] = 0; // filter method 0
  header[12] = 0; // no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Converts a screendump file to a PNG file. */
export async function convertPpmFileToPng(ppmPath: string, pngPath: string, options: { signal?: AbortSignal } = {}): Promise<RgbImage> {
  const image = parsePpm(await readFile(ppmPath, { signal: options.signal }), ppmPath);
  await writeFile(pngPath, encodePng(image), { signal: options.signal });
  return image;
}

function chunk(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

function isDimension(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 16384;
}
