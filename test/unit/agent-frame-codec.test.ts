import { describe, expect, it } from 'vitest';
import { crc32 as crc32Of } from '../../src/util/crc32.ts';
import { AgentProtocolError } from '../../src/agent/errors.ts';
import { encodeFrame, FrameDecoder, MAX_PAYLOAD, type DecodeEvent } from '../../src/agent/frame-codec.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// Hand-checked frames (CRCs verified with Python's zlib.crc32); the first is PROTOCOL.md's example.
const PING_SEQ1_HI = hex('524c4147 01 02 0000 01000000 02000000 04c86e95 6869 f0998828');
const HELLO_SEQ7 = hex('524c4147 01 01 0000 07000000 00000000 096fea60 1cdf4421');
const BANNER_SEQ7 = hex(
  '524c4147 01 80 0000 07000000 1a000000 ad3221e9' + '0100 0000 00000100 72657472 6f6c6162 2d616765 6e742031 2e30' + '31c2b9fd',
);
const NAK_SEQ9 = hex('524c4147 01 84 0000 09000000 0d000000 3b3cbc81 0700 00000000 62616420637263 8a56be24');

function frames(events: DecodeEvent[]) {
  return events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

describe('frame encoding', () => {
  it('produces the byte-exact fixtures', () => {
    expect(encodeFrame({ type: 0x02, seq: 1, payload: Buffer.from('hi') })).toEqual(PING_SEQ1_HI);
    expect(encodeFrame({ type: 0x01, seq: 7 })).toEqual(HELLO_SEQ7);
    const banner = Buffer.concat([hex('0100 0000 00000100'), Buffer.from('retrolab-agent 1.0')]);
    expect(encodeFrame({ type: 0x80, seq: 7, payload: banner })).toEqual(BANNER_SEQ7);
  });

  it('refuses a payload over the limit and names the limit', () => {
    const encode = () => encodeFrame({ type: 0x02, seq: 1, payload: Buffer.alloc(MAX_PAYLOAD + 1) });
    expect(encode).toThrow(AgentProtocolError);
    expect(encode).toThrow(/65537 bytes exceeds the limit of 65536 bytes/);
    expect(encodeFrame({ type: 0x02, seq: 1, payload: Buffer.alloc(MAX_PAYLOAD) })).toHaveLength(MAX_PAYLOAD + 24);
  });
});

describe('frame decoding', () => {
  it('decodes the fixtures, byte by byte as well as at once', () => {
    const stream = Buffer.concat([PING_SEQ1_HI, BANNER_SEQ7, NAK_SEQ9]);
    const whole = frames(new FrameDecoder().push(stream));
    const decoder = new FrameDecoder();
    const trickled = frames([...stream].flatMap((byte) => decoder.push(Buffer.of(byte))));
    for (const got of [whole, trickled]) {
      expect(got.map((f) => [f.type, f.seq])).toEqual([
        [0x02, 1],
        [0x80, 7],
        [0x84, 9],
      ]);
      expect(got[0]?.payload.toString()).toBe('hi');
      expect(got[1]?.payload.subarray(8).toString()).toBe('retrolab-agent 1.0');
    }
    expect(decoder.buffered).toBe(0);
  });

  it('round-trips every payload size class, including empty and the maximum', () => {
    for (const size of [0, 1, 3, 4, 19, 20, 255, 4096, MAX_PAYLOAD]) {
      const payload = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff));
      const [frame] = frames(new FrameDecoder().push(encodeFrame({ type: 0x03, seq: 0xfffffffe, payload })));
      expect(frame).toEqual({ type: 0x03, seq: 0xfffffffe, payload });
    }
  });

  it('reports a flipped payload byte as corrupt with its seq, and then finds the next frame', () => {
    const bad = Buffer.from(PING_SEQ1_HI);
    bad[20]! ^= 0x01; // "hi" -> "ii"
    const events = new FrameDecoder().push(Buffer.concat([bad, HELLO_SEQ7]));
    expect(events[0]).toEqual({ kind: 'corrupt', type: 0x02, seq: 1 });
    expect(frames(events).map((f) => f.seq)).toEqual([7]);
  });

  it('reports a flipped frame CRC byte as corrupt', () => {
    const bad = Buffer.from(PING_SEQ1_HI);
    bad[bad.length - 1]! ^= 0x80;
    expect(new FrameDecoder().push(bad)).toContainEqual({ kind: 'corrupt', type: 0x02, seq: 1 });
  });

  it('skips a frame with a damaged header silently (no seq is trusted) and resynchronises', () => {
    const bad = Buffer.from(PING_SEQ1_HI);
    bad[12]! ^= 0x40; // the length field
    const events = new FrameDecoder().push(Buffer.concat([bad, HELLO_SEQ7]));
    expect(events.some((e) => e.kind === 'corrupt')).toBe(false);
    expect(frames(events).map((f) => f.seq)).toEqual([7]);
    expect(events).toContainEqual({ kind: 'garbage', bytes: PING_SEQ1_HI.length });
  });

  it('resynchronises after injected garbage, including a false magic and a split real one', () => {
    const garbage = Buffer.concat([Buffer.from('\r\nnoise RLAG RLA'), hex('00ff524c')]);
    const stream = Buffer.concat([garbage, PING_SEQ1_HI, Buffer.from('RL'), HELLO_SEQ7]);
    const decoder = new FrameDecoder();
    const events = [stream.subarray(0, 20), stream.subarray(20, 50), stream.subarray(50)].flatMap((c) => decoder.push(c));
    expect(frames(events).map((f) => [f.type, f.seq])).toEqual([
      [0x02, 1],
      [0x01, 7],
    ]);
    const skipped = events.reduce((n, e) => n + (e.kind === 'garbage' ? e.bytes : 0), 0);
    expect(skipped).toBe(garbage.length + 2);
  });

  it('finds a frame that a truncated one swallowed (a byte lost on the line)', () => {
    const truncated = PING_SEQ1_HI.subarray(0, PING_SEQ1_HI.length - 1);
    const events = new FrameDecoder().push(Buffer.concat([truncated, HELLO_SEQ7]));
    expect(events[0]).toEqual({ kind: 'corrupt', type: 0x02, seq: 1 });
    expect(frames(events).map((f) => f.seq)).toEqual([7]);
  });

  it('rejects an oversized header naming the length, without waiting for its payload', () => {
    const header = hex('524c4147 01 06 0000 2a000000 01000100'); // seq 42, length 65537
    const oversized = withHeaderCrc(header);
    const events = new FrameDecoder().push(Buffer.concat([oversized, HELLO_SEQ7]));
    expect(events[0]).toEqual({ kind: 'rejected', type: 0x06, seq: 42, reason: 'too-large', length: 65537, version: 1 });
    expect(frames(events).map((f) => f.seq)).toEqual([7]);
  });

  it('rejects a frame of another protocol version', () => {
    const header = hex('524c4147 02 02 0000 05000000 00000000');
    const events = new FrameDecoder().push(withHeaderCrc(header));
    expect(events[0]).toMatchObject({ kind: 'rejected', seq: 5, reason: 'bad-version', version: 2 });
  });
});

/** A hand-made header (encodeFrame refuses to make these): 16 bytes plus their CRC. */
function withHeaderCrc(header16: Buffer): Buffer {
  const out = Buffer.alloc(20);
  header16.copy(out);
  out.writeUInt32LE(crc32Of(header16), 16);
  return out;
}
