import { Duplex, PassThrough } from 'node:stream';
import { encodeFrame, FrameDecoder, type Frame } from '../../src/agent/frame-codec.ts';

/**
 * A peer speaking the agent's frames from a script: each decoded request is
 * answered with whatever `answer` returns (raw bytes). For tests of the
 * host's side of the protocol; the real agent is tested under Wine and QEMU.
 */
export function scriptedAgent(answer: (frame: Frame) => Buffer[]): { stream: Duplex; requests: Frame[] } {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const requests: Frame[] = [];
  const decoder = new FrameDecoder();
  fromClient.on('data', (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.kind !== 'frame') continue;
      requests.push(event.frame);
      for (const reply of answer(event.frame)) toClient.write(reply);
    }
  });
  return { stream: Duplex.from({ readable: toClient, writable: fromClient }), requests };
}

const BANNER_PAYLOAD = Buffer.concat([Buffer.from('0100000000000100', 'hex'), Buffer.from('retrolab-agent test')]);

export const bannerFrame = (seq: number): Buffer => encodeFrame({ type: 0x80, seq, payload: BANNER_PAYLOAD });
export const okFrame = (seq: number, payload: Buffer = Buffer.alloc(0)): Buffer => encodeFrame({ type: 0x81, seq, payload });

export function u32le(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}
