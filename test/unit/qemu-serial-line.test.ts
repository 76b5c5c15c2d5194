import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SerialLine } from '../../src/qemu/serial-line.ts';

// A real unix socket stands in for QEMU's serial chardev: `guest` is QEMU's end.
let dir: string;
let server: Server;
let guest: Socket;
let line: SerialLine;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrolab-serial-'));
  const path = join(dir, 'serial.sock');
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const host = connect(path);
  await new Promise((resolve) => host.once('connect', resolve));
  guest = await accepted;
  line = new SerialLine(host);
});

afterEach(async () => {
  line.destroy();
  guest.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function read(stream: SerialLine, length: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) parts.push(chunk);
      const all = Buffer.concat(parts);
      if (all.length >= length) {
        stream.off('readable', onReadable);
        resolve(all);
      }
    };
    stream.on('readable', onReadable);
    onReadable();
  });
}

describe('SerialLine', () => {
  it('passes bytes both ways untouched', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x7e, 0x0a, 0x0d, 0x41]);
    guest.write(bytes);
    expect((await read(line, bytes.length)).equals(bytes)).toBe(true);
    const fromGuest = new Promise<Buffer>((resolve) => guest.once('data', resolve));
    line.write(Buffer.from('ping'));
    expect((await fromGuest).toString()).toBe('ping');
  });

  it('keeps the last lines, printable, even before anyone reads', async () => {
    guest.write('boot\r\nstarting agent\n\x1b[2Jready\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(line.lastLines(2)).toEqual(['starting agent', '\\x1b[2Jready']);
    expect(line.bytesReceived).toBe(31);
    // Recording did not consume: a late reader still gets every byte.
    expect((await read(line, 31)).toString('latin1')).toBe('boot\r\nstarting agent\n\x1b[2Jready\n');
  });

  it('holds only the tail of a long stream', async () => {
    const big = Buffer.alloc(40 * 1024, 0x61);
    guest.write(Buffer.concat([big, Buffer.from('\nlast line\n')]));
    await read(line, big.length + 11);
    expect(line.tailText().length).toBe(16 * 1024);
    expect(line.lastLines(1)).toEqual(['last line']);
  });

  it('measures how long the guest has been quiet', async () => {
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(line.silentForMs).toBeGreaterThanOrEqual(100);
    guest.write('x');
    await read(line, 1);
    expect(line.silentForMs).toBeLessThan(100);
  });

  it('ends when the guest side closes', async () => {
    const ended = new Promise((resolve) => line.once('end', resolve));
    line.resume();
    guest.end();
    await ended;
  });
});
