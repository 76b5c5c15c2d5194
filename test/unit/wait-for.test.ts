import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForSocketListening } from '../../src/wait/socket-listening.ts';
import { StopWaiting, waitFor, WaitTimeoutError } from '../../src/wait/wait-for.ts';

const notYet = (n: number) => new Error(`not yet (${n})`);
/** An attempt from a plain function: what it throws becomes the rejection. */
const attemptOf =
  <T>(fn: () => T): (() => Promise<T>) =>
  () =>
    new Promise<T>((resolve) => resolve(fn()));

describe('waitFor', () => {
  it('retries until an attempt succeeds and returns its value', async () => {
    let calls = 0;
    const value = await waitFor(
      'the third try',
      attemptOf(() => {
        calls++;
        if (calls < 3) throw notYet(calls);
        return 'ready';
      }),
      { timeoutMs: 5_000, firstDelayMs: 1, maxDelayMs: 5 },
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('times out with a typed error naming what it awaited, for how long, and the last failure', async () => {
    let calls = 0;
    const error = await waitFor(
      'a file that never comes',
      attemptOf(() => {
        calls++;
        throw notYet(calls);
      }),
      { timeoutMs: 200, firstDelayMs: 10, maxDelayMs: 20 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    const timeout = error as WaitTimeoutError;
    expect(timeout.what).toBe('a file that never comes');
    expect(timeout.limitMs).toBe(200);
    expect(timeout.elapsedMs).toBeGreaterThanOrEqual(190);
    expect(timeout.attempts).toBe(calls);
    expect(timeout.attempts).toBeGreaterThan(1);
    expect(timeout.message).toMatch(
      /^gave up waiting for a file that never comes after \d+\.\d s \(limit 0\.2 s, \d+ attempt\(s\)\); the last attempt: not yet/,
    );
    expect((timeout.cause as Error).message).toBe(`not yet (${calls})`);
  });

  it('ends an attempt that hangs at the deadline (its signal aborts) instead of waiting for it', async () => {
    let attemptSignal: AbortSignal | undefined;
    const error = await waitFor(
      'an attempt that never settles',
      (signal) => {
        attemptSignal = signal;
        return new Promise<never>(() => undefined);
      },
      { timeoutMs: 100 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).attempts).toBe(1);
    expect(attemptSignal?.aborted).toBe(true);
  });

  it('cuts one attempt after attemptTimeoutMs and tries again', async () => {
    let calls = 0;
    const value = await waitFor(
      'a second attempt',
      (signal) => {
        calls++;
        if (calls === 1) return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(notYet(1))));
        return Promise.resolve('second');
      },
      { timeoutMs: 5_000, attemptTimeoutMs: 50, firstDelayMs: 1 },
    );
    expect(value).toBe('second');
    expect(calls).toBe(2);
  });

  it("rejects with the caller's abort reason, not a timeout, and stops trying", async () => {
    const controller = new AbortController();
    let calls = 0;
    const waiting = waitFor(
      'something aborted',
      attemptOf(() => {
        calls++;
        throw notYet(calls);
      }),
      { timeoutMs: 10_000, signal: controller.signal, firstDelayMs: 10, maxDelayMs: 10 },
    );
    setTimeout(() => controller.abort(new Error('Ctrl-C')), 50);
    await expect(waiting).rejects.toThrow('Ctrl-C');
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(after);
  });

  it('does not start when the signal is already aborted', async () => {
    let calls = 0;
    await expect(
      waitFor(
        'nothing',
        attemptOf(() => {
          calls++;
          return 1;
        }),
        { timeoutMs: 1_000, signal: AbortSignal.abort(new Error('already gone')) },
      ),
    ).rejects.toThrow('already gone');
    expect(calls).toBe(0);
  });

  it('stops at once with the reason of a StopWaiting, and with a failure retryIf refuses', async () => {
    const gone = new Error('QEMU exited');
    let calls = 0;
    await expect(
      waitFor(
        'a socket of a dead process',
        attemptOf(() => {
          calls++;
          throw new StopWaiting(gone);
        }),
        { timeoutMs: 5_000 },
      ),
    ).rejects.toBe(gone);
    expect(calls).toBe(1);

    const protocol = new TypeError('unexpected reply');
    await expect(
      waitFor(
        'a banner',
        attemptOf(() => {
          throw protocol;
        }),
        { timeoutMs: 5_000, retryIf: (error) => !(error instanceof TypeError) },
      ),
    ).rejects.toBe(protocol);
  });

  it('tells progress (elapsed, limit, what) while waiting, and nothing after the wait ended', async () => {
    const ticks: [number, number, string][] = [];
    let calls = 0;
    await waitFor(
      'the agent',
      attemptOf(() => {
        calls++;
        if (calls < 8) throw notYet(calls);
        return true;
      }),
      { timeoutMs: 5_000, firstDelayMs: 20, maxDelayMs: 20, progressEveryMs: 25, onProgress: (...tick) => ticks.push(tick) },
    );
    expect(ticks.length).toBeGreaterThan(1);
    for (const [elapsed, limit, what] of ticks) {
      expect(limit).toBe(5_000);
      expect(what).toBe('the agent');
      expect(elapsed).toBeGreaterThan(0);
    }
    expect(ticks.map(([elapsed]) => elapsed)).toEqual([...ticks.map(([elapsed]) => elapsed)].sort((a, b) => a - b));
    const seen = ticks.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(ticks.length).toBe(seen);
  });

  it('is not ended by a progress callback that throws', async () => {
    let calls = 0;
    const value = await waitFor(
      'a value',
      attemptOf(() => {
        calls++;
        if (calls < 4) throw notYet(calls);
        return 'done';
      }),
      {
        timeoutMs: 5_000,
        firstDelayMs: 20,
        maxDelayMs: 20,
        progressEveryMs: 10,
        onProgress: () => {
          throw new Error('renderer broke');
        },
      },
    );
    expect(value).toBe('done');
  });
});

describe('waitForSocketListening', () => {
  let dir: string | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('connects once a server listens on a socket that did not exist when the wait began', async () => {
    dir = await mkdtemp(join(tmpdir(), 'retrolab-wait-'));
    const path = join(dir, 'serial.sock');
    setTimeout(() => {
      server = createServer((peer) => peer.end('hello from the listener')).listen(path);
    }, 150);
    const socket = await waitForSocketListening(path, { timeoutMs: 5_000, firstDelayMs: 10, maxDelayMs: 50 });
    let heard = '';
    for await (const chunk of socket) heard += String(chunk);
    expect(heard).toBe('hello from the listener');
    socket.destroy();
  });

  it('ends with what check throws (the process that was to listen is gone), without a timeout', async () => {
    dir = await mkdtemp(join(tmpdir(), 'retrolab-wait-'));
    let checks = 0;
    const started = Date.now();
    await expect(
      waitForSocketListening(join(dir, 'never.sock'), {
        timeoutMs: 10_000,
        firstDelayMs: 10,
        check: () => {
          checks++;
          if (checks === 3) throw new Error('the container exited');
        },
      }),
    ).rejects.toThrow('the container exited');
    expect(checks).toBe(3);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out naming the socket when nothing listens', async () => {
    dir = await mkdtemp(join(tmpdir(), 'retrolab-wait-'));
    const error = await waitForSocketListening(join(dir, 'serial.sock'), { timeoutMs: 100, firstDelayMs: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).message).toContain('serial.sock to accept a connection');
    expect(((error as WaitTimeoutError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
