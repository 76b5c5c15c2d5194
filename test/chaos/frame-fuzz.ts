import { crc32 } from '../../src/util/crc32.ts';
import { encodeFrame, FrameDecoder, HEADER_SIZE, MAX_PAYLOAD, TRAILER_SIZE, type Frame } from '../../src/agent/frame-codec.ts';

/**
 * A randomized fuzz of the host's FrameDecoder: random bytes, valid frames,
 * frames with flipped bits, truncated frames and oversized headers, pushed in
 * random splits. Checks on every input: no exception, the decoder never holds
 * more than one largest frame plus the chunk it was given, and every valid
 * frame that was not damaged comes out exactly once and unchanged.
 */

export interface FuzzReport {
  inputs: number;
  framesSent: number;
  framesDecoded: number;
  maxBuffered: number;
  failures: string[];
}

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

export function fuzzFrameDecoder(inputs: number, seed = 0x5eed): FuzzReport {
  const random = rng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = int(256);
    return out;
  };
  const report: FuzzReport = { inputs, framesSent: 0, framesDecoded: 0, maxBuffered: 0, failures: [] };
  let decoder = new FrameDecoder();
  const expected: Frame[] = [];
  for (let i = 0; i < inputs; i++) {
    if (i % 1000 === 999) {
      // Zeros complete whatever length a damaged header announced; every sound frame must be out by then.
      for (const event of decoder.push(Buffer.alloc(HEADER_SIZE + MAX_PAYLOAD + TRAILER_SIZE + 1))) {
        if (event.kind !== 'frame') continue;
        report.framesDecoded++;
        const at = expected.findIndex(
          (f) => f.seq === event.frame.seq && f.type === event.frame.type && f.payload.equals(event.frame.payload),
        );
        if (at >= 0) expected.splice(at, 1);
      }
      if (expected.length > 0) report.failures.push(`inputs ${i - 999}-${i}: ${expected.length} sound frame(s) never decoded`);
      decoder = new FrameDecoder();
      expected.length = 0;
    }
    let piece: Buffer;
    const kind = int(6);
    if (kind === 0) piece = bytes(int(300));
    else if (kind === 1 || kind === 2) {
      const frame = { type: int(256), seq: int(0xffffffff), payload: bytes(int(kind === 1 ? 64 : 4096)) };
      piece = encodeFrame(frame);
      expected.push(frame);
      report.framesSent++;
    } else if (kind === 3) {
      piece = encodeFrame({ type: int(256), seq: int(0xffffffff), payload: bytes(1 + int(200)) });
      const at = HEADER_SIZE + int(piece.length - HEADER_SIZE);
      piece[at] = (piece[at] ?? 0) ^ (1 + int(255));
    } else if (kind === 4) {
      piece = encodeFrame({ type: 1, seq: 1, payload: bytes(int(100)) });
      piece = piece.subarray(0, int(piece.length));
    } else {
      // A sound header that announces a huge payload: must be rejected, not waited for.
      piece = encodeFrame({ type: 2, seq: int(1000), payload: Buffer.alloc(0) });
      piece.writeUInt32LE(MAX_PAYLOAD + 1 + int(0x7fffffff), 12);
      piece.writeUInt32LE(crc32(piece.subarray(0, 16)), 16);
    }
    let offset = 0;
    while (offset < piece.length || (piece.length === 0 && offset === 0)) {
      const size = piece.length === 0 ? 0 : 1 + int(piece.length - offset);
      const chunk = piece.subarray(offset, offset + size);
      offset += Math.max(size, 1);
      let events;
      try {
        events = decoder.push(chunk);
      } catch (error) {
        report.failures.push(`input ${i}: push threw ${String(error)}`);
        break;
      }
      report.maxBuffered = Math.max(report.maxBuffered, decoder.buffered);
      if (decoder.buffered > HEADER_SIZE + MAX_PAYLOAD + TRAILER_SIZE + chunk.length) {
        report.failures.push(`input ${i}: decoder holds ${decoder.buffered} bytes`);
      }
      for (const event of events) {
        if (event.kind !== 'frame') continue;
        report.framesDecoded++;
        const at = expected.findIndex(
          (f) => f.seq === event.frame.seq && f.type === event.frame.type && f.payload.equals(event.frame.payload),
        );
        if (at >= 0) expected.splice(at, 1);
      }
    }
  }
  return report;
}
