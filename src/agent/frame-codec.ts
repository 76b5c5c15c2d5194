import { crc32 } from '../util/crc32.ts';
import { AgentProtocolError } from './errors.ts';

// The frame layout of guest-apps/agent/PROTOCOL.md ("Frame").
export const MAGIC = Buffer.from('RLAG', 'latin1');
export const PROTOCOL_VERSION = 1;
export const HEADER_SIZE = 20;
export const TRAILER_SIZE = 4;
export const MAX_PAYLOAD = 65536;

export interface Frame {
  type: number;
  seq: number;
  payload: Buffer;
}

export type DecodeEvent =
  | { kind: 'frame'; frame: Frame }
  /** The header was sound (so seq and type are known) but the frame CRC was not. */
  | { kind: 'corrupt'; type: number; seq: number }
  /** The header was sound but announces what this protocol does not accept. */
  | { kind: 'rejected'; type: number; seq: number; reason: 'too-large' | 'bad-version'; length: number; version: number }
  /** Bytes dropped while looking for the next frame. */
  | { kind: 'garbage'; bytes: number };

export function encodeFrame(frame: { type: number; seq: number; payload?: Uint8Array }): Buffer {
  const payload = frame.payload ?? new Uint8Array(0);
  if (payload.length > MAX_PAYLOAD) {
    throw new AgentProtocolError(
      `frame payload of ${payload.length} bytes exceeds the limit of ${MAX_PAYLOAD} bytes (MAX_PAYLOAD); send it in chunks`,
      { context: { type: frame.type, seq: frame.seq, length: payload.length, limit: MAX_PAYLOAD } },
    );
  }
  const out = Buffer.alloc(HEADER_SIZE + payload.length + TRAILER_SIZE);
  MAGIC.copy(out, 0);
  out.writeUInt8(PROTOCOL_VERSION, 4);
  out.writeUInt8(frame.type, 5);
  out.writeUInt16LE(0, 6);
  out.writeUInt32LE(frame.seq >>> 0, 8);
  out.writeUInt32LE(payload.length, 12);
  out.writeUInt32LE(crc32(out.subarray(0, 16)), 16);
  out.set(payload, HEADER_SIZE);
  const end = HEADER_SIZE + payload.length;
  out.writeUInt32LE(crc32(out.subarray(0, end)), end);
  return out;
}

/**
 * Streaming decoder: push bytes as they arrive, get back what they completed.
 * Follows PROTOCOL.md "Receiving": garbage is skipped up to the next magic, a
 * header with a bad CRC costs one byte, a corrupt frame costs its magic (the
 * rest is rescanned, since a frame that lost bytes may hold the next one).
 */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);
  #garbage = 0;

  push(chunk: Uint8Array): DecodeEvent[] {
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const events: DecodeEvent[] = [];
    for (;;) {
      const at = this.#buffer.indexOf(MAGIC);
      if (at < 0) {
        // Keep a tail that may be the start of a magic split across chunks.
        const keep = Math.min(this.#buffer.length, MAGIC.length - 1);
        this.#drop(this.#buffer.length - keep);
        break;
      }
      this.#drop(at);
      if (this.#buffer.length < HEADER_SIZE) break;
      const header = this.#buffer;
      if (crc32(header.subarray(0, 16)) !== header.readUInt32LE(16)) {
        this.#drop(1);
        continue;
      }
      const version = header.readUInt8(4);
      const type = header.readUInt8(5);
      const seq = header.readUInt32LE(8);
      const length = header.readUInt32LE(12);
      if (version !== PROTOCOL_VERSION || length > MAX_PAYLOAD) {
        this.#flushGarbage(events);
        events.push({
          kind: 'rejected',
          type,
          seq,
          reason: version !== PROTOCOL_VERSION ? 'bad-version' : 'too-large',
          length,
          version,
        });
        this.#consume(HEADER_SIZE);
        continue;
      }
      const total = HEADER_SIZE + length + TRAILER_SIZE;
      if (this.#buffer.length < total) break;
      const end = HEADER_SIZE + length;
      this.#flushGarbage(events);
      if (crc32(this.#buffer.subarray(0, end)) !== this.#buffer.readUInt32LE(end)) {
        events.push({ kind: 'corrupt', type, seq });
        this.#drop(MAGIC.length);
        continue;
      }
      events.push({ kind: 'frame', frame: { type, seq, payload: Buffer.from(this.#buffer.subarray(HEADER_SIZE, end)) } });
      this.#consume(total);
    }
    this.#flushGarbage(events);
    return events;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffer.length;
  }

  #drop(bytes: number): void {
    this.#garbage += bytes;
    this.#consume(bytes);
  }

  #consume(bytes: number): void {
    if (bytes > 0) this.#buffer = this.#buffer.subarray(bytes);
  }

  #flushGarbage(events: DecodeEvent[]): void {
    if (this.#garbage > 0) events.push({ kind: 'garbage', bytes: this.#garbage });
    this.#garbage = 0;
  }
}
