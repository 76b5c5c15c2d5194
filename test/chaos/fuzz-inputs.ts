import { crc32 } from '../../src/util/crc32.ts';
import { encodeFrame, HEADER_SIZE, MAX_PAYLOAD, TRAILER_SIZE, type Frame } from '../../src/agent/frame-codec.ts';

/**
 * Randomized receiver input shared by the two fuzzes (the host's FrameDecoder
 * and the agent's receive loop built for the host): random bytes, sound
 * frames, frames with a flipped bit after the header, truncated frames,
 * sound headers that must be rejected (a huge length, a foreign version),
 * and, rarer, frames of the largest size and bursts of frames back to back
 * (which fill a receiver's buffer to its end, so it must compact); each cut
 * into random reads. Reproducible from the seed.
 */

export type FuzzKind = 'random' | 'sound' | 'damaged' | 'truncated' | 'too-large' | 'bad-version' | 'largest' | 'burst';

export interface FuzzInput {
  kind: FuzzKind;
  /** The bytes in the reads they arrive in (at least one read, possibly empty). */
  reads: Buffer[];
  /** The frames that must come out exactly once each, unchanged. */
  frames: Frame[];
}

/** Sent after each batch: zeros complete whatever length a damaged header announced, so every sound frame must be out by then. */
export const FLUSH = Buffer.alloc(HEADER_SIZE + MAX_PAYLOAD + TRAILER_SIZE + 1);
export const BATCH = 1000;

/** xorshift32: reproducible from the seed, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Batches of up to BATCH inputs, `inputs` in all; a receiver gets FLUSH after each batch and starts afresh. */
export function* fuzzBatches(inputs: number, seed: number): Generator<FuzzInput[]> {
  const random = rng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => {
    const out = Buffer.alloc(n + 3);
    for (let i = 0; i < n; i += 4) out.writeUInt32LE(Math.floor(random() * 0x100000000), i);
    return out.subarray(0, n);
  };
  const frameOf = (size: number): Frame => ({ type: int(256), seq: int(0xffffffff), payload: bytes(size) });
  /** A sound header announcing what must be rejected, with a valid header CRC so it is not taken for noise. */
  const rejectedHeader = (version: number, length: number) => {
    const piece = encodeFrame({ type: 2, seq: int(1000), payload: Buffer.alloc(0) }).subarray(0, HEADER_SIZE);
    piece.writeUInt8(version, 4);
    piece.writeUInt32LE(length, 12);
    piece.writeUInt32LE(crc32(piece.subarray(0, 16)), 16);
    return piece;
  };
  let batch: FuzzInput[] = [];
  for (let i = 0; i < inputs; i++) {
    let piece: Buffer;
    const frames: Frame[] = [];
    const rare = int(100);
    const roll = int(7);
    const kind: FuzzKind =
      rare === 0
        ? 'largest'
        : rare === 1
          ? 'burst'
          : (['random', 'sound', 'sound', 'damaged', 'truncated', 'too-large', 'bad-version'] as const)[roll]!;
    if (kind === 'random') piece = bytes(int(300));
    else if (kind === 'sound' || kind === 'largest') {
      frames.push(frameOf(kind === 'largest' ? MAX_PAYLOAD - int(64) : int(roll === 1 ? 64 : 4096)));
      piece = encodeFrame(frames[0]!);
    } else if (kind === 'burst') {
      for (let n = 1 + int(24); n > 0; n--) frames.push(frameOf(int(4096)));
      piece = Buffer.concat([bytes(int(300)), ...frames.map((f) => encodeFrame(f)), bytes(1 + int(3))]);
    } else if (kind === 'damaged') {
      piece = encodeFrame(frameOf(1 + int(200)));
      const at = HEADER_SIZE + int(piece.length - HEADER_SIZE);
      piece[at] = (piece[at] ?? 0) ^ (1 + int(255));
    } else if (kind === 'truncated') {
      piece = encodeFrame({ type: 1, seq: 1, payload: bytes(int(100)) });
      piece = piece.subarray(0, int(piece.length));
    } else if (kind === 'too-large') piece = rejectedHeader(1, MAX_PAYLOAD + 1 + int(0x7fffffff));
    else piece = rejectedHeader(2 + int(254), int(64));
    const reads: Buffer[] = [];
    for (let offset = 0; offset < piece.length;) {
      const size = 1 + int(piece.length - offset);
      reads.push(piece.subarray(offset, offset + size));
      offset += size;
    }
    if (reads.length === 0) reads.push(piece);
    batch.push({ kind, reads, frames });
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A decoded frame as both fuzzes report it, to compare what came out with what was sent. */
export function frameKey(frame: { type: number; seq: number; length: number; payloadCrc: number }): string {
  return `${frame.type}/${frame.seq}/${frame.length}/${frame.payloadCrc}`;
}

export function sentKey(frame: Frame): string {
  return frameKey({ type: frame.type, seq: frame.seq, length: frame.payload.length, payloadCrc: crc32(frame.payload) });
}
