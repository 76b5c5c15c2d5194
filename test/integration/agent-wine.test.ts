import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WINE_GUEST_RUN_DIR, startWineLine, type WineLine } from '../../src/targets/wine-line.ts';
import { AgentClient } from '../../src/agent/agent-client.ts';
import { crc32 } from '../../src/util/crc32.ts';
import { AgentRequestError, GuestCommandError } from '../../src/agent/errors.ts';
import { encodeFrame, FrameDecoder, type DecodeEvent } from '../../src/agent/frame-codec.ts';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';

// The real C agent under Wine, driven over its real serial line (pty + socat +
// unix socket) by the TS client, with faults injected on the line in between.

/**
 * Sits between the client and the line. It damages bytes on request, once:
 * `flipToGuest(n, k)` flips byte n of the k-th frame the client writes from now
 * (the client writes one frame per write), `flipToHost(n)` the n-th byte that
 * arrives from the agent from now. `inject` writes raw bytes to the agent, and
 * every frame from the agent is also decoded into `fromAgent`.
 */
class FaultyLine extends Duplex {
  readonly fromAgent: DecodeEvent[] = [];
  readonly #decoder = new FrameDecoder();
  #toGuest: { byte: number; frame: number } | undefined;
  #toHost: number | undefined;
  readonly #inner: Duplex;

  constructor(inner: Duplex) {
    super();
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => {
      if (this.#toHost !== undefined && this.#toHost < chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[this.#toHost]! ^= 0x5a;
        this.#toHost = undefined;
      } else if (this.#toHost !== undefined) {
        this.#toHost -= chunk.length;
      }
      this.fromAgent.push(...this.#decoder.push(chunk));
      this.push(chunk);
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (error) => this.destroy(error));
  }

  flipToGuest(byte: number, frame = 1): void {
    this.#toGuest = { byte, frame };
  }

  flipToHost(byte: number): void {
    this.#toHost = byte;
  }

  inject(bytes: Buffer): void {
    this.#inner.write(bytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#toGuest && --this.#toGuest.frame === 0) {
      chunk = Buffer.from(chunk);
      chunk[this.#toGuest.byte]! ^= 0x5a;
      this.#toGuest = undefined;
    }
    this.#inner.write(chunk, callback);
  }

  override _read(): void {}

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner.destroy();
    callback(error);
  }
}

// Long enough for Wine's cmd to start the loop even where i386 code runs under
// qemu-user emulation on a busy host; the test only needs the loop to be running.
const HANG_TIMEOUT_MS = 8_000;

/** Waits until the agent has sent `count` frames with this seq. */
async function framesWithSeq(line: FaultyLine, seq: number, count: number): Promise<Buffer[]> {
  for (let i = 0; i < 400; i++) {
    const found = line.fromAgent.flatMap((e) => (e.kind === 'frame' && e.frame.seq === seq ? [e.frame] : []));
    if (found.length >= count) return found.map((f) => encodeFrame(f));
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the agent sent fewer than ${count} frames with seq ${seq}`);
}

describe('the agent under Wine, over its serial line', () => {
  let docker: DockerClient;
  let line: WineLine;
  let faults: FaultyLine;
  let client: AgentClient;
  let dupclose: Buffer;
  const guest = (name: string) => `${WINE_GUEST_RUN_DIR}\\${name}`;

  beforeAll(async () => {
    const built = await buildGuestApps({ only: ['agent', 'dupclose'] });
    const path = (name: string) => built.find((b) => b.name === name)!.path;
    dupclose = await readFile(path('dupclose'));
    docker = await connectDocker();
    line = await startWineLine(docker, { binDir: dirname(path('agent')), verbose: true });
    faults = new FaultyLine(line.stream);
    client = await AgentClient.connect(faults, { handshakeTimeoutMs: 90_000, attemptTimeoutMs: 3_000 });
  });

  afterAll(async () => {
    await client?.close();
    await line?.[Symbol.asyncDispose]();
    await docker?.[Symbol.asyncDispose]();
  });

  it('announces itself and answers ping', async () => {
    expect(client.banner).toEqual({ protocolVersion: 1, maxPayload: 65536, text: 'retrolab-agent 1.0' });
    const payload = Buffer.from(Array.from({ length: 4000 }, (_, i) => i & 0xff));
    const { roundTripMs } = await client.ping(payload);
    expect(roundTripMs).toBeGreaterThan(0);
  });

  it('reports sysinfo from GetVersionEx, the DLL probes and Wine', async () => {
    const info = await client.sysinfo();
    expect(info.platformId).toBe(2);
    expect(info.wineVersion).toMatch(/^8\./);
    expect(info.ws2_32).toBe(true);
    expect(info.iphlpapi).toBe(true);
    expect(info.mstcpMaxConnections).toBeUndefined();
  });

  it('puts dupclose.exe, runs it, gets its output back, and deletes it', async () => {
    const put = await client.putFile(guest('dupclose.exe'), dupclose);
    expect(put).toEqual({ size: dupclose.length, crc32: crc32(dupclose) });
    expect(await readFile(join(line.runDir, 'dupclose.exe'))).toEqual(dupclose);

    const run = await client.execChecked('dupclose.exe --cycles 3 > dupclose.txt', { cwd: WINE_GUEST_RUN_DIR, timeoutMs: 60_000 });
    expect(run.timedOut).toBe(false);
    const output = (await client.getFile(guest('dupclose.txt'))).toString('latin1');
    expect(output).toMatch(/cycle/);
    expect(output).toBe(await readFile(join(line.runDir, 'dupclose.txt'), 'latin1'));

    expect(await client.deleteFile(guest('dupclose.exe'))).toBe(true);
    expect(await client.deleteFile(guest('dupclose.exe'), { missingOk: true })).toBe(false);
    await expect(client.getFile(guest('dupclose.exe'))).rejects.toThrow(AgentRequestError);
  });

  it('moves a file larger than one frame both ways, byte for byte', async () => {
    const big = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 2654435761) >>> 24));
    await client.putFile(guest('big.bin'), big);
    expect(await client.getFile(guest('big.bin'))).toEqual(big);
    await client.putFile(guest('empty.bin'), Buffer.alloc(0));
    expect(await client.getFile(guest('empty.bin'))).toHaveLength(0);
  });

  it('returns exit code, stdout and stderr of a command; execChecked throws GuestCommandError', async () => {
    const r = await client.exec('echo out-line& echo err-line 1>&2& exit /b 7', { cwd: WINE_GUEST_RUN_DIR });
    expect(r).toMatchObject({ exitCode: 7, timedOut: false });
    expect(r.stdout).toMatch(/out-line/);
    expect(r.stderr).toMatch(/err-line/);
    await expect(client.execChecked('exit /b 3')).rejects.toBeInstanceOf(GuestCommandError);
  });

  it('fetches netstat text', async () => {
    const text = await client.netstat();
    expect(text).toMatch(/Active Connections/i);
    expect(text).toMatch(/Proto\s+Local Address\s+Foreign Address\s+State/);
  });

  it('kills a hanging program (and what it started) on timeout and reports timedOut', async () => {
    // The loop appends to a file: once it is dead, the file stops growing.
    await client.putFile(guest('hang.bat'), Buffer.from('@echo off\r\necho hanging\r\n:loop\r\necho tick>>%1\r\ngoto loop\r\n'));
    const stopsGrowing = async (name: string): Promise<void> => {
      const size = async () => (await stat(join(line.runDir, name))).size;
      const first = await size();
      await new Promise((r) => setTimeout(r, 1_000));
      expect(first).toBeGreaterThan(0);
      expect(await size()).toBe(first);
    };

    const direct = await client.exec('hang.bat direct.txt', { cwd: WINE_GUEST_RUN_DIR, timeoutMs: HANG_TIMEOUT_MS });
    expect(direct).toMatchObject({ timedOut: true });
    expect(direct.stdout).toMatch(/hanging/);
    expect(direct.guestDurationMs).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS);
    await stopsGrowing('direct.txt');

    // One level deeper: the loop runs in a grandchild of the agent.
    const nested = await client.exec('cmd /c hang.bat nested.txt', { cwd: WINE_GUEST_RUN_DIR, timeoutMs: HANG_TIMEOUT_MS });
    expect(nested.timedOut).toBe(true);
    await stopsGrowing('nested.txt');
    await client.ping();
  });

  it('detects a byte corrupted mid-transfer (payload and header), and the transfer still completes correctly', async () => {
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
    const before = { ...client.stats };

    // A flipped data byte in the second chunk: the agent NAKs, the client retransmits at once.
    faults.flipToGuest(5_000, 2);
    expect(await client.putFile(guest('corrupt-payload.bin'), data)).toEqual({ size: data.length, crc32: crc32(data) });
    expect(client.stats.naks).toBe(before.naks + 1);
    expect(await readFile(join(line.runDir, 'corrupt-payload.bin'))).toEqual(data);

    // A flipped length byte in the third chunk: the header CRC fails, the agent resyncs
    // silently, and the client retransmits when the attempt's deadline passes.
    faults.flipToGuest(13, 3);
    expect(await client.putFile(guest('corrupt-header.bin'), data)).toEqual({ size: data.length, crc32: crc32(data) });
    expect(client.stats.retransmits).toBe(before.retransmits + 2);
    expect(await readFile(join(line.runDir, 'corrupt-header.bin'))).toEqual(data);
    await client.ping();
  });

  it('answers a retried request from its cache: a command whose reply was lost runs once', async () => {
    await client.deleteFile(guest('count.txt'), { missingOk: true });
    const before = { ...client.stats };
    // Reply damaged in its payload: the client sees a corrupt frame for its seq and retransmits.
    faults.flipToHost(30);
    await client.execChecked('echo run>>count.txt', { cwd: WINE_GUEST_RUN_DIR, timeoutMs: 10_000 });
    // Reply damaged in its header: the client hears nothing valid and retransmits when the
    // attempt's deadline (the guest timeout plus a margin) passes.
    faults.flipToHost(3);
    await client.execChecked('echo run>>count.txt', { cwd: WINE_GUEST_RUN_DIR, timeoutMs: 10_000 });
    expect(client.stats.retransmits).toBe(before.retransmits + 2);
    expect(client.stats.corruptFrames).toBe(before.corruptFrames + 1);
    const count = (await client.getFile(guest('count.txt'))).toString('latin1');
    expect(count.match(/run/g)).toHaveLength(2);
  });

  it('replays, not re-runs, a raw request repeated with the same seq and frame CRC', async () => {
    await client.deleteFile(guest('once.txt'), { missingOk: true });
    const seq = 0x5eed0001;
    const payload = Buffer.alloc(4 + 2 + WINE_GUEST_RUN_DIR.length + 2 + 'echo ran>>once.txt'.length);
    let at = payload.writeUInt32LE(10_000, 0);
    at = payload.writeUInt16LE(WINE_GUEST_RUN_DIR.length, at);
    at += payload.write(WINE_GUEST_RUN_DIR, at, 'latin1');
    at = payload.writeUInt16LE('echo ran>>once.txt'.length, at);
    payload.write('echo ran>>once.txt', at, 'latin1');
    const request = encodeFrame({ type: 0x06, seq, payload });
    faults.inject(request);
    await framesWithSeq(faults, seq, 1);
    faults.inject(request);
    const [first, second] = await framesWithSeq(faults, seq, 2);
    expect(second).toEqual(first);
    expect((await client.getFile(guest('once.txt'))).toString('latin1').match(/ran/g)).toHaveLength(1);
  });

  it('skips garbage and refuses an oversized frame naming the limit, and keeps serving', async () => {
    faults.inject(Buffer.from('\r\nline noise RLAG\x00\x01\xff RLA', 'latin1'));
    await client.ping(Buffer.from('after garbage'));

    const header = Buffer.alloc(20);
    header.write('RLAG', 0, 'latin1');
    header.writeUInt8(1, 4);
    header.writeUInt8(0x02, 5);
    header.writeUInt32LE(0x5eed0002, 8);
    header.writeUInt32LE(70_000, 12);
    header.writeUInt32LE(crc32(header.subarray(0, 16)), 16);
    faults.inject(Buffer.concat([header, Buffer.alloc(70_004, 0x41)]));
    const [refusal] = await framesWithSeq(faults, 0x5eed0002, 1);
    const frame = new FrameDecoder().push(refusal!).find((e) => e.kind === 'frame');
    expect(frame?.kind === 'frame' && frame.frame.type).toBe(0x82);
    const text = frame?.kind === 'frame' ? frame.frame.payload.subarray(6).toString('latin1') : '';
    expect(text).toMatch(/70000 bytes exceeds the limit of 65536 bytes/);
    await client.ping(Buffer.from('after oversized'));
    await client.sysinfo();
  });
});
