import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.ts';
import { AgentRequestError, AgentTimeoutError, GuestCommandError } from '../../src/agent/errors.ts';
import { encodeFrame, FrameDecoder, type Frame } from '../../src/agent/frame-codec.ts';

// The client's behaviour on the line, against a peer scripted in bytes. The
// real agent is exercised end to end in test/integration/agent-wine.test.ts.

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const BANNER_PAYLOAD = Buffer.concat([hex('0100 0000 00000100'), Buffer.from('retrolab-agent 1.0')]);

/** A peer that answers each decoded request with whatever `answer` returns (bytes to send back). */
function scriptedPeer(answer: (frame: Frame, received: Buffer[]) => Buffer[]) {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const received: Buffer[] = [];
  const decoder = new FrameDecoder();
  fromClient.on('data', (chunk: Buffer) => {
    received.push(Buffer.from(chunk));
    for (const event of decoder.push(chunk)) {
      if (event.kind === 'frame') for (const reply of answer(event.frame, received)) toClient.write(reply);
    }
  });
  return { stream: Duplex.from({ readable: toClient, writable: fromClient }), received };
}

const banner = (seq: number) => encodeFrame({ type: 0x80, seq, payload: BANNER_PAYLOAD });
const ok = (seq: number, payload: Buffer = Buffer.alloc(0)) => encodeFrame({ type: 0x81, seq, payload });

describe('AgentClient against a scripted peer', () => {
  it('says HELLO until a banner with its seq arrives, skipping noise and the start-up banner', async () => {
    let hellos = 0;
    const peer = scriptedPeer((frame) => {
      expect(frame.type).toBe(0x01);
      hellos++;
      // The first HELLO "is lost" (the agent was not up yet).
      return hellos === 1 ? [] : [Buffer.from('boot noise\r\n'), banner(0), banner(frame.seq)];
    });
    await using client = await AgentClient.connect(peer.stream, { handshakeTimeoutMs: 10_000 });
    expect(client.banner).toEqual({ protocolVersion: 1, maxPayload: 65536, text: 'retrolab-agent 1.0' });
    expect(hellos).toBe(2);
    expect(client.stats.unsolicitedBanners).toBe(1);
    expect(client.stats.garbageBytes).toBe('boot noise\r\n'.length);
  });

  it('gives up saying HELLO at the handshake deadline with AgentTimeoutError, telling the wait as it goes', async () => {
    let hellos = 0;
    const peer = scriptedPeer(() => {
      hellos++;
      return [];
    });
    const ticks: [number, number, string][] = [];
    const error = await AgentClient.connect(peer.stream, {
      handshakeTimeoutMs: 2_500,
      onWait: (...tick) => ticks.push(tick),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentTimeoutError);
    expect((error as AgentTimeoutError).request).toBe('HELLO (handshake)');
    expect((error as AgentTimeoutError).attempts).toBe(hellos);
    expect(hellos).toBeGreaterThan(1);
    expect((error as AgentTimeoutError).elapsedMs).toBeGreaterThanOrEqual(2_400);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks[0]?.[1]).toBe(2_500);
    expect(ticks[0]?.[2]).toBe("the agent's banner (HELLO)");
  });

  it('refuses a banner of another protocol version at once, with the fix', async () => {
    let hellos = 0;
    const peer = scriptedPeer((frame) => {
      hellos++;
      return [
        encodeFrame({ type: 0x80, seq: frame.seq, payload: Buffer.concat([hex('0200 0000 00000100'), Buffer.from('retrolab-agent 2.0')]) }),
      ];
    });
    await expect(AgentClient.connect(peer.stream, { handshakeTimeoutMs: 10_000 })).rejects.toThrow(
      /protocol version 2 .*rebuild the agent \(npm run build:guest\)/,
    );
    expect(hellos).toBe(1);
  });

  it('retransmits the identical frame (same seq) after a NAK', async () => {
    const pings: Buffer[] = [];
    const peer = scriptedPeer((frame, received) => {
      if (frame.type === 0x01) return [banner(frame.seq)];
      pings.push(Buffer.concat(received.splice(0)));
      if (pings.length === 1) {
        return [encodeFrame({ type: 0x84, seq: frame.seq, payload: Buffer.concat([hex('0700 00000000'), Buffer.from('bad crc')]) })];
      }
      return [ok(frame.seq, frame.payload)];
    });
    await using client = await AgentClient.connect(peer.stream);
    peer.received.length = 0;
    await client.ping(Buffer.from('payload'));
    expect(pings).toHaveLength(2);
    expect(pings[1]).toEqual(pings[0]);
    expect(client.stats).toMatchObject({ naks: 1, retransmits: 1 });
  });

  it('retransmits at once when the reply arrives corrupt, and drops a stale duplicate', async () => {
    let pings = 0;
    const peer = scriptedPeer((frame) => {
      if (frame.type === 0x01) return [banner(frame.seq)];
      pings++;
      if (pings === 1) {
        const damaged = ok(frame.seq, frame.payload);
        damaged[21]! ^= 0xff;
        return [damaged];
      }
      return [ok(frame.seq - 1), ok(frame.seq, frame.payload)];
    });
    await using client = await AgentClient.connect(peer.stream);
    await client.ping(Buffer.from('xy'));
    expect(pings).toBe(2);
    expect(client.stats).toMatchObject({ corruptFrames: 1, retransmits: 1, staleReplies: 1 });
  });

  it('gives up with AgentTimeoutError after the bounded number of attempts', async () => {
    let pings = 0;
    const peer = scriptedPeer((frame) => {
      if (frame.type === 0x01) return [banner(frame.seq)];
      pings++;
      return [];
    });
    await using client = await AgentClient.connect(peer.stream, { attemptTimeoutMs: 50, maxAttempts: 3 });
    const error = await client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentTimeoutError);
    expect((error as AgentTimeoutError).attempts).toBe(3);
    expect(pings).toBe(3);
  });

  it("passes the caller's abort reason through", async () => {
    const peer = scriptedPeer((frame) => (frame.type === 0x01 ? [banner(frame.seq)] : []));
    await using client = await AgentClient.connect(peer.stream);
    const reason = new Error('user gave up');
    const error = await client.ping(Buffer.alloc(0), { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  it('turns an ERROR reply into AgentRequestError with its kind, code and message', async () => {
    const peer = scriptedPeer((frame) =>
      frame.type === 0x01
        ? [banner(frame.seq)]
        : [encodeFrame({ type: 0x82, seq: frame.seq, payload: Buffer.concat([hex('0100 02000000'), Buffer.from('DELETE C:\\x failed')]) })],
    );
    await using client = await AgentClient.connect(peer.stream);
    await expect(client.deleteFile('C:\\x')).rejects.toThrow(AgentRequestError);
    await expect(client.deleteFile('C:\\x')).rejects.toThrow(/DELETE C:\\x failed \[WIN32, Win32 error 2\]/);
    expect(await client.deleteFile('C:\\x', { missingOk: true })).toBe(false);
  });

  it('GET from an offset asks for the bytes from there on only: a growing file is read again without what was read', async () => {
    // The guest's file: 70000 bytes (three chunks from 0). The peer serves GET as the agent does: offset, count, then the path.
    const file = Buffer.alloc(70_000, 0x61);
    file.write('tail', 69_996);
    const asked: number[] = [];
    const peer = scriptedPeer((frame) => {
      if (frame.type === 0x01) return [banner(frame.seq)];
      const offset = frame.payload.readUInt32LE(0);
      const count = frame.payload.readUInt32LE(4);
      asked.push(offset);
      const size = Buffer.alloc(4);
      size.writeUInt32LE(file.length);
      return [ok(frame.seq, Buffer.concat([size, file.subarray(offset, offset + count)]))];
    });
    await using client = await AgentClient.connect(peer.stream);
    expect((await client.getFile('C:\\out.log')).length).toBe(70_000);
    expect(asked).toEqual([0, 32768, 65536]);
    asked.length = 0;
    expect((await client.getFile('C:\\out.log', { from: 69_990 })).toString('latin1')).toBe('aaaaaatail');
    expect(asked).toEqual([69_990]);
    expect((await client.getFile('C:\\out.log', { from: 70_000 })).length).toBe(0);
    await expect(client.getFile('C:\\out.log', { from: -1 })).rejects.toThrow(/from -1 is not a file offset/);
  });

  it('parses an exec result and lets execChecked throw GuestCommandError for a non-zero exit', async () => {
    // exit 3, flags 0, 12 ms, stdout "out\r\n", stderr "bad"
    const result = hex('03000000 00 0c000000 05000000 6f75740d0a 03000000 626164');
    const peer = scriptedPeer((frame) => (frame.type === 0x01 ? [banner(frame.seq)] : [ok(frame.seq, result)]));
    await using client = await AgentClient.connect(peer.stream);
    expect(await client.exec('prog.exe')).toMatchObject({
      exitCode: 3,
      stdout: 'out\r\n',
      stderr: 'bad',
      timedOut: false,
      guestDurationMs: 12,
    });
    const error = await client.execChecked('prog.exe').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestCommandError);
    expect(error).toMatchObject({ command: 'prog.exe', exitCode: 3, stderr: 'bad', timedOut: false });
    expect((error as Error).message).toMatch(/exited with code 3[\s\S]*bad/);
  });

  it('fails pending and later calls when the stream closes', async () => {
    const peer = scriptedPeer((frame) => (frame.type === 0x01 ? [banner(frame.seq)] : []));
    const client = await AgentClient.connect(peer.stream);
    const pending = client.ping();
    peer.stream.destroy();
    await expect(pending).rejects.toThrow(/serial stream/);
    await expect(client.ping()).rejects.toThrow(/serial stream/);
    await client.close();
  });

  it('fails a pending call at once when the guest side ends (QEMU killed: EOF on COM1, the write side still open)', async () => {
    const toClient = new PassThrough();
    const fromClient = new PassThrough();
    const decoder = new FrameDecoder();
    fromClient.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.kind === 'frame' && event.frame.type === 0x01) toClient.write(banner(event.frame.seq));
        else if (event.kind === 'frame') toClient.end();
      }
    });
    const client = await AgentClient.connect(Duplex.from({ readable: toClient, writable: fromClient }), { attemptTimeoutMs: 60_000 });
    const started = Date.now();
    await expect(client.ping()).rejects.toThrow(/serial stream (closed|ended)/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await client.close();
  });
});
