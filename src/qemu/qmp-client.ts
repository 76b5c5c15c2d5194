import type { Duplex } from 'node:stream';
import { connectUnix } from '../util/unix-socket.ts';
import createDebug from 'debug';
import { MigrationError, QmpCommandError, QmpConnectionError } from './errors.ts';
import { shellQuote } from './command-line.ts';

const debug = createDebug('retrolab:qmp');

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface VmStatus {
  status: string;
  running: boolean;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

type Reply = { id?: number; return?: unknown; error?: { class: string; desc: string } } & Partial<QmpEvent>;

/** QEMU's migration bandwidth default is 32 MiB/s; a local file takes all it can get. */
const SAVE_BANDWIDTH = 8 * 1024 * 1024 * 1024;

/**
 * A QMP connection over QEMU's unix socket: the greeting and capabilities
 * handshake, numbered commands, and events. It knows QMP, not the lab: no
 * retries here (the VM retries connecting, at the edge).
 */
export class QmpClient implements AsyncDisposable {
  readonly socketPath: string;
  readonly #socket: Duplex;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: QmpEvent) => void>();
  readonly #closeListeners = new Set<(error: QmpConnectionError) => void>();
  #nextId = 1;
  #buffer = '';
  #closed: QmpConnectionError | undefined;
  #quitting = false;
  #onGreeting: (() => void) | undefined;
  readonly #ended: Promise<void>;
  #markEnded: () => void = () => {};

  private constructor(socketPath: string, socket: Duplex) {
    this.socketPath = socketPath;
    this.#socket = socket;
    this.#ended = new Promise((resolve) => (this.#markEnded = resolve));
  }

  /**
   * Connects, reads the greeting and leaves capabilities negotiation mode.
   * `open` reaches a socket on another machine (through SSH); a local unix socket by default.
   */
  static async connect(
    socketPath: string,
    options: { signal?: AbortSignal; open?: (path: string, signal: AbortSignal | undefined) => Promise<Duplex> } = {},
  ): Promise<QmpClient> {
    options.signal?.throwIfAborted();
    let socket: Duplex;
    try {
      socket = await (options.open ?? connectUnix)(socketPath, options.signal);
    } catch (error) {
      options.signal?.throwIfAborted();
      throw new QmpConnectionError(`cannot connect: ${(error as Error).message}`, socketPath, undefined, error);
    }
    const client = new QmpClient(socketPath, socket);
    const greeting = new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(new QmpConnectionError(`cannot connect: ${error.message}`, socketPath, undefined, error));
      socket.once('error', onError);
      client.#onGreeting = () => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('close', () => reject(new QmpConnectionError('QEMU closed the socket before its greeting', socketPath)));
    });
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => client.#receive(text));
    socket.on('error', (error) => client.#fail(new QmpConnectionError(`socket error: ${error.message}`, socketPath, undefined, error)));
    socket.on('close', () => client.#fail(new QmpConnectionError('QEMU closed the QMP socket', socketPath)));
    const abort = () => socket.destroy(new Error('aborted'));
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      await greeting;
      await client.execute('qmp_capabilities', undefined, options);
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    return client;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Runs one command; rejects with QmpCommandError when QEMU says no. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, options: { signal?: AbortSignal } = {}): Promise<T> {
    options.signal?.throwIfAborted();
    if (this.#closed) throw new QmpConnectionError(this.#closed.message, this.socketPath, command, this.#closed);
    const id = this.#nextId++;
    const message = JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
    debug('-> %s', message);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        reject(abortReason(options.signal));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        command,
        resolve: (value) => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve(value as T);
        },
        reject: (error) => {
          options.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.#socket.write(`${message}\n`);
    });
  }

  /** Subscribes to QMP events; returns the unsubscribe. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Events as an async iterator, from now until the connection ends or the
   * signal aborts; events that arrive while the consumer is busy are queued.
   */
  async *events(options: { signal?: AbortSignal } = {}): AsyncGenerator<QmpEvent> {
    const queue: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const off = this.onEvent((event) => {
      queue.push(event);
      notify();
    });
    options.signal?.addEventListener('abort', notify, { once: true });
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.#closed || options.signal?.aborted) return;
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), this.#ended]);
      }
    } finally {
      off();
      options.signal?.removeEventListener('abort', notify);
    }
  }

  /** Called once when the connection ends for any reason other than `close()`/`quit()`. */
  onClose(listener: (error: QmpConnectionError) => void): () => void {
    if (this.#closed && !this.#quitting) listener(this.#closed);
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Resolves with the first event of that name (matching `where`, if given). */
  waitForEvent(name: string, options: { signal?: AbortSignal; where?: (event: QmpEvent) => boolean } = {}): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        off();
        offClose();
        options.signal?.removeEventListener('abort', onAbort);
      };
      const off = this.onEvent((event) => {
        if (event.event !== name || (options.where && !options.where(event))) return;
        cleanup();
        resolve(event);
      });
      const offClose = this.onClose((error) => {
        cleanup();
        reject(error);
      });
      const onAbort = () => {
        cleanup();
        reject(abortReason(options.signal));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async queryStatus(options: { signal?: AbortSignal } = {}): Promise<VmStatus> {
    const reply = await this.execute<{ status: string; running: boolean }>('query-status', undefined, options);
    return { status: reply.status, running: reply.running };
  }

  async stop(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.execute('stop', undefined, options);
  }

  async cont(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.execute('cont', undefined, options);
  }

  /**
   * Writes the VM's state (RAM and devices, not disks) to a file as QEMU sees
   * it, and waits until the migration is over. QEMU 7.2 has no `file:` URI, so
   * the state goes through `exec:cat`. Afterwards the VM is paused
   * (`postmigrate`); `cont` resumes it.
   */
  async migrateToFile(
    path: string,
    options: { signal?: AbortSignal; pollMs?: number } = {},
  ): Promise<{ totalTimeMs: number; bytes: number }> {
    await this.execute('migrate-set-parameters', { 'max-bandwidth': SAVE_BANDWIDTH }, options);
    await this.execute('migrate', { uri: `exec:cat > ${shellQuote(path)}` }, options);
    for (;;) {
      const info = await this.execute<{
        status?: string;
        'error-desc'?: string;
        'total-time'?: number;
        ram?: { transferred?: number };
      }>('query-migrate', undefined, options);
      const status = info.status ?? 'none';
      if (status === 'completed') return { totalTimeMs: info['total-time'] ?? 0, bytes: info.ram?.transferred ?? 0 };
      if (status === 'failed' || status === 'cancelled' || status === 'none') {
        throw new MigrationError(status, info['error-desc'], path);
      }
      await sleep(options.pollMs ?? 50, options.signal);
    }
  }

  /** Writes the screen as a binary PPM to a path as QEMU sees it. */
  async screendump(path: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.execute('screendump', { filename: path }, options);
  }

  /** Asks QEMU to exit and waits until it has closed the connection (which is then expected, not an error). */
  async quit(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#quitting = true;
    try {
      await this.execute('quit', undefined, options);
    } catch (error) {
      if (!(error instanceof QmpConnectionError)) throw error;
    }
    await this.#ended;
  }

  close(): void {
    this.#quitting = true;
    this.#socket.destroy();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #receive(text: string): void {
    this.#buffer += text;
    let newline: number;
    while ((newline = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line.length > 0) this.#handle(line);
    }
  }

  #handle(line: string): void {
    debug('<- %s', line);
    let message: Reply & { QMP?: unknown };
    try {
      message = JSON.parse(line) as Reply & { QMP?: unknown };
    } catch {
      this.#fail(new QmpConnectionError(`QEMU sent a line that is not JSON: ${line.slice(0, 200)}`, this.socketPath));
      return;
    }
    if (message.QMP !== undefined) {
      this.#onGreeting?.();
      this.#onGreeting = undefined;
      return;
    }
    if (typeof message.event === 'string') {
      const event: QmpEvent = {
        event: message.event,
        data: message.data,
        timestamp: message.timestamp,
      };
      for (const listener of this.#listeners) listener(event);
      return;
    }
    const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
    if (!pending || message.id === undefined) return;
    this.#pending.delete(message.id);
    if (message.error) pending.reject(new QmpCommandError(pending.command, message.error.class, message.error.desc, this.socketPath));
    else pending.resolve(message.return);
  }

  #fail(error: QmpConnectionError): void {
    if (this.#closed) return;
    this.#closed = error;
    this.#socket.destroy();
    this.#markEnded();
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(new QmpConnectionError(error.message, this.socketPath, pending.command, error));
    }
    if (this.#quitting) return;
    for (const listener of this.#closeListeners) listener(error);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}
