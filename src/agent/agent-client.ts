import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import { crc32 } from '../util/crc32.ts';
import type { WaitProgress } from '../wait/wait-for.ts';
import { waitForAgentBanner } from './agent-banner.ts';
import { errorMessage } from '../errors.ts';
import {
  AgentProtocolError,
  AgentRequestError,
  AgentTimeoutError,
  GuestCommandError,
  GuestDataTooLargeError,
  GuestFileChangedError,
} from './errors.ts';
import { encodeFrame, FrameDecoder, MAX_PAYLOAD, type DecodeEvent, type Frame } from './frame-codec.ts';
import {
  MAX_COMMAND_BYTES,
  MAX_PATH_BYTES,
  PayloadReader,
  PUT_FINAL,
  ReplyType,
  RequestType,
  decodeText,
  parseErrorReply,
  parseExecReply,
  str16,
  u32,
  type AgentBanner,
  type RequestName,
} from './messages.ts';

const debug = createDebug('retrolab:agent');

export interface CallOptions {
  signal?: AbortSignal;
  /** Deadline of the whole call; each method has a default sized to its work. */
  deadlineMs?: number;
}

export interface AgentClientOptions {
  signal?: AbortSignal;
  /** How long `connect` keeps saying HELLO before it gives up. */
  handshakeTimeoutMs?: number;
  /** Told how the wait for the agent's banner goes (see WaitProgress). */
  onWait?: WaitProgress;
  /** How long one attempt of an ordinary request waits before retransmitting. */
  attemptTimeoutMs?: number;
  /** Transmissions of one request (the first plus retransmissions). */
  maxAttempts?: number;
  /** The largest file `getFile` accepts from the guest (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
}

/** 64 MiB: NETSTAT with a full socket table is ~100 KB; far more than that is a broken or hostile guest. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface ExecResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Host-side wall time of the call. */
  durationMs: number;
  /** The guest's own measurement of the program's run time. */
  guestDurationMs: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export interface ExecOptions extends CallOptions {
  /** Working directory in the guest; the agent's own when unset. */
  cwd?: string;
  /** The guest kills the program after this long. */
  timeoutMs?: number;
}

export interface GuestSysinfo {
  /** GetVersionEx dwPlatformId: 1 Win9x, 2 NT. */
  platformId: number;
  major: number;
  minor: number;
  build: number;
  csd: string;
  wineVersion: string | undefined;
  ws2_32: boolean;
  iphlpapi: boolean;
  mstcpMaxConnections: { value: string; type: 'dword' | 'string' } | undefined;
  /** Every key=value line as sent, including keys this client does not know yet. */
  raw: Record<string, string>;
}

/** Line faults the client saw and survived; tests assert on these to prove a fault was detected. */
export interface LineStats {
  requests: number;
  retransmits: number;
  naks: number;
  corruptFrames: number;
  rejectedFrames: number;
  garbageBytes: number;
  staleReplies: number;
  unsolicitedBanners: number;
}

type Outcome = { kind: 'reply'; frame: Frame } | { kind: 'fault'; fault: string; timeout: boolean };

interface Pending {
  seq: number;
  settle: (outcome: Outcome) => void;
}

const PUT_CHUNK = 32 * 1024;
const GET_CHUNK = 32 * 1024;
const NETSTAT_GUEST_TIMEOUT_MS = 60_000;
const ERROR_FILE_NOT_FOUND = 2;
const ERROR_PATH_NOT_FOUND = 3;

/**
 * Host end of the agent protocol (guest-apps/agent/PROTOCOL.md) over any
 * duplex byte stream: a unix socket bridged to a pty, QEMU's serial socket, or
 * a test's in-memory pair. The client owns the stream and destroys it on close.
 * Requests go one at a time; each is retransmitted unchanged (same seq) on a
 * NAK, a corrupt reply or a missed per-attempt deadline, so the agent's reply
 * cache makes retries safe for every request, exec included.
 */
export class AgentClient implements AsyncDisposable {
  readonly stats: LineStats = {
    requests: 0,
    retransmits: 0,
    naks: 0,
    corruptFrames: 0,
    rejectedFrames: 0,
    garbageBytes: 0,
    staleReplies: 0,
    unsolicitedBanners: 0,
  };

  readonly #stream: Duplex;
  readonly #decoder = new FrameDecoder();
  readonly #attemptTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #maxFileBytes: number;
  #seq = randomInt(1, 0xffffffff);
  #pending: Pending | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closedBy: Error | undefined;
  #banner: AgentBanner | undefined;
  #lastByteAt = performance.now();
  /** When the pending request was first sent, if the agent should answer it promptly. */
  #promptSince: number | undefined;

  private constructor(stream: Duplex, options: AgentClientOptions) {
    this.#stream = stream;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    stream.on('data', this.#onData);
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
    // EOF from the guest side (QEMU or the line bridge died) while our write side is still open: nothing will answer.
    stream.on('end', this.#onEnd);
  }

  /** Wraps `stream` and says HELLO until the agent answers with its banner. */
  static async connect(stream: Duplex, options: AgentClientOptions = {}): Promise<AgentClient> {
    const client = new AgentClient(stream, options);
    try {
      await client.#handshake(options);
      return client;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /** The banner from the handshake. */
  get banner(): AgentBanner {
    if (!this.#banner) throw new AgentProtocolError('the agent client has no banner: use AgentClient.connect()');
    return this.#banner;
  }

  async #handshake(options: AgentClientOptions): Promise<void> {
    const banner = await waitForAgentBanner(
      async (signal) => {
        const reply = await this.#request('hello', Buffer.alloc(0), { signal, attemptTimeoutMs: 1_000, maxAttempts: 1 });
        if (reply.type !== ReplyType.banner) throw new AgentProtocolError(unexpectedReply('HELLO', reply));
        return reply;
      },
      { timeoutMs: options.handshakeTimeoutMs ?? 60_000, signal: options.signal, onProgress: options.onWait },
    );
    this.#banner = banner;
    debug('connected: %s (max payload %d)', banner.text, banner.maxPayload);
  }

  async ping(payload: Uint8Array = Buffer.alloc(0), options: CallOptions = {}): Promise<{ roundTripMs: number }> {
    const started = performance.now();
    const reply = await this.#ok('ping', Buffer.from(payload), { signal: deadlineSignal(options.signal, options.deadlineMs ?? 30_000) });
    if (!reply.equals(payload)) {
      throw new AgentProtocolError(`PING echo differs: sent ${payload.length} bytes, got ${reply.length} bytes back`);
    }
    return { roundTripMs: performance.now() - started };
  }

  /** Writes `bytes` to `guestPath` in chunks; the agent commits on the last one and both CRCs must agree. */
  async putFile(
    guestPath: string,
    bytes: Uint8Array,
    options: CallOptions & { chunkSize?: number } = {},
  ): Promise<{ size: number; crc32: number }> {
    const path = str16(guestPath, 'guest path', MAX_PATH_BYTES);
    const chunkSize = Math.max(1, Math.min(options.chunkSize ?? PUT_CHUNK, MAX_PAYLOAD - 5 - path.length));
    const signal = deadlineSignal(options.signal, options.deadlineMs ?? 30_000 + bytes.length / 4);
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let offset = 0;
    let crc = 0;
    for (;;) {
      const end = Math.min(offset + chunkSize, data.length);
      const final = end === data.length;
      const chunk = data.subarray(offset, end);
      const reply = await this.#ok('put', Buffer.concat([u32(offset), Buffer.of(final ? PUT_FINAL : 0), path, chunk]), { signal });
      crc = crc32(chunk, crc);
      const r = new PayloadReader(reply, 'PUT');
      const guestSize = r.u32('bytes so far');
      const guestCrc = r.u32('crc so far');
      if (guestSize !== end || guestCrc !== crc) {
        throw new AgentProtocolError(
          `PUT ${guestPath}: the guest holds ${guestSize} bytes with CRC 0x${hex(guestCrc)}, the host sent ${end} bytes with CRC 0x${hex(crc)}`,
          { context: { guestPath, guestSize, guestCrc, hostSize: end, hostCrc: crc } },
        );
      }
      if (final) return { size: end, crc32: crc };
      offset = end;
    }
  }

  /**
   * Reads a guest file in chunks. The size the guest announces is checked
   * against `maxBytes` before anything is kept, and every chunk against the
   * size and the chunk asked for, so memory stays bounded whatever the guest says.
   * `from`: only the bytes from that offset on (a file that grows, read again
   * and again, moves only what is new over the serial line); empty when
   * nothing was added (the agent refuses an offset past the end).
   */
  async getFile(guestPath: string, options: CallOptions & { chunkSize?: number; maxBytes?: number; from?: number } = {}): Promise<Buffer> {
    const path = str16(guestPath, 'guest path', MAX_PATH_BYTES);
    const chunkSize = Math.max(1, Math.min(options.chunkSize ?? GET_CHUNK, MAX_PAYLOAD - 4));
    const limit = options.maxBytes ?? this.#maxFileBytes;
    const signal = deadlineSignal(options.signal, options.deadlineMs ?? 120_000);
    const from = options.from ?? 0;
    if (!Number.isInteger(from) || from < 0 || from > 0xffffffff)
      throw new RangeError(`GET ${guestPath}: from ${from} is not a file offset`);
    const chunks: Buffer[] = [];
    let offset = from;
    let size: number | undefined;
    do {
      const reply = await this.#ok('get', Buffer.concat([u32(offset), u32(chunkSize), path]), { signal });
      const r = new PayloadReader(reply, 'GET');
      const nowSize = r.u32('file size');
      const data = r.rest();
      if (nowSize > limit) {
        throw new GuestDataTooLargeError(guestPath, `the guest announces ${nowSize} bytes, over the limit of ${limit}`, {
          announced: nowSize,
          limit,
          fix: 'a file this large is not something a scenario writes: check the guest program; raise limits.maxGuestFileMiB in retrolab.config.json only if it is expected',
        });
      }
      if (data.length > chunkSize || offset + data.length > nowSize) {
        throw new GuestDataTooLargeError(
          guestPath,
          `a chunk of ${data.length} bytes at offset ${offset} does not fit (asked for ${chunkSize}, file size ${nowSize})`,
          {
            announced: nowSize,
            limit,
            fix: 'the agent answered outside the protocol: rebuild and redeploy it (npm run build:guest)',
          },
        );
      }
      if ((size !== undefined && nowSize !== size) || (data.length === 0 && offset < nowSize)) {
        throw new GuestFileChangedError(guestPath, { before: size, after: nowSize, offset });
      }
      size = nowSize;
      chunks.push(Buffer.from(data));
      offset += data.length;
    } while (offset < size);
    return Buffer.concat(chunks);
  }

  /** Returns false when the file did not exist and `missingOk` is set. */
  async deleteFile(guestPath: string, options: CallOptions & { missingOk?: boolean } = {}): Promise<boolean> {
    try {
      await this.#ok('delete', str16(guestPath, 'guest path', MAX_PATH_BYTES), {
        signal: deadlineSignal(options.signal, options.deadlineMs ?? 30_000),
      });
      return true;
    } catch (error) {
      const missing =
        error instanceof AgentRequestError && (error.win32Error === ERROR_FILE_NOT_FOUND || error.win32Error === ERROR_PATH_NOT_FOUND);
      if (missing && options.missingOk) return false;
      throw error;
    }
  }

  /** Runs a command line through the guest's shell; what the program did is the result, never an exception. */
  async exec(commandLine: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const payload = Buffer.concat([
      u32(timeoutMs),
      str16(options.cwd ?? '', 'working directory', MAX_PATH_BYTES),
      str16(commandLine, 'command line', MAX_COMMAND_BYTES),
    ]);
    const started = performance.now();
    const reply = await this.#ok('exec', payload, {
      signal: deadlineSignal(options.signal, options.deadlineMs ?? timeoutMs + 60_000),
      attemptTimeoutMs: timeoutMs + 15_000,
    });
    const r = parseExecReply(reply, 'EXEC');
    return { command: commandLine, ...r, durationMs: Math.round(performance.now() - started) };
  }

  /** Like `exec`, but a non-zero exit or a timeout throws GuestCommandError. */
  async execChecked(commandLine: string, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(commandLine, options);
    if (result.exitCode !== 0 || result.timedOut) throw new GuestCommandError(result);
    return result;
  }

  /** The text of `NETSTAT -an` in the guest; a failing netstat throws GuestCommandError. */
  async netstat(options: CallOptions = {}): Promise<string> {
    const started = performance.now();
    const reply = await this.#ok('netstat', Buffer.alloc(0), {
      signal: deadlineSignal(options.signal, options.deadlineMs ?? NETSTAT_GUEST_TIMEOUT_MS + 30_000),
      attemptTimeoutMs: NETSTAT_GUEST_TIMEOUT_MS + 15_000,
    });
    const r = parseExecReply(reply, 'NETSTAT');
    const result = { command: 'NETSTAT -an', ...r, durationMs: Math.round(performance.now() - started) };
    if (result.exitCode !== 0 || result.timedOut) throw new GuestCommandError(result);
    if (result.stdoutTruncated) {
      throw new AgentProtocolError(
        `NETSTAT's output is longer than one reply carries (${result.stdout.length} bytes kept); run "netstat -an > FILE" and fetch the file instead`,
        { context: { request: 'netstat', kept: result.stdout.length } },
      );
    }
    return result.stdout;
  }

  async sysinfo(options: CallOptions = {}): Promise<GuestSysinfo> {
    const text = decodeText(
      await this.#ok('sysinfo', Buffer.alloc(0), { signal: deadlineSignal(options.signal, options.deadlineMs ?? 30_000) }),
    );
    const raw: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) raw[line.slice(0, eq)] = line.slice(eq + 1).replace(/\r$/, '');
    }
    const num = (key: string): number => Number(raw[key] ?? 'NaN');
    const maxConnType = raw['mstcp.maxconnections.type'];
    return {
      platformId: num('os.platform'),
      major: num('os.major'),
      minor: num('os.minor'),
      build: num('os.build'),
      csd: raw['os.csd'] ?? '',
      wineVersion: raw['wine.version'],
      ws2_32: raw['dll.ws2_32'] === '1',
      iphlpapi: raw['dll.iphlpapi'] === '1',
      mstcpMaxConnections:
        raw['mstcp.maxconnections'] !== undefined && (maxConnType === 'dword' || maxConnType === 'string')
          ? { value: raw['mstcp.maxconnections'], type: maxConnType }
          : undefined,
      raw,
    };
  }

  /** Powers the guest off (or reboots it); under Wine the agent just exits. The agent answers before it acts. */
  async shutdown(options: CallOptions & { reboot?: boolean } = {}): Promise<void> {
    await this.#ok('shutdown', Buffer.of(options.reboot ? 1 : 0), { signal: deadlineSignal(options.signal, options.deadlineMs ?? 30_000) });
  }

  async close(): Promise<void> {
    if (!this.#closedBy) this.#fail(new AgentProtocolError('the agent client was closed'));
    this.#stream.off('data', this.#onData);
    this.#stream.destroy();
    await Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #ok(name: RequestName, payload: Buffer, options: { signal: AbortSignal; attemptTimeoutMs?: number }): Promise<Buffer> {
    const reply = await this.#request(name, payload, options);
    if (reply.type === ReplyType.ok) return reply.payload;
    if (reply.type === ReplyType.error || reply.type === ReplyType.fatal) {
      const e = parseErrorReply(reply.payload);
      const fatal = reply.type === ReplyType.fatal;
      throw new AgentRequestError(
        `the agent ${fatal ? 'stopped (FATAL)' : 'refused'} ${name.toUpperCase()}: ${e.message} [${e.kindName}${e.win32Error ? `, Win32 error ${e.win32Error}` : ''}]`,
        { request: name, kind: e.kind, kindName: e.kindName, win32Error: e.win32Error, fatal },
      );
    }
    throw new AgentProtocolError(unexpectedReply(name.toUpperCase(), reply));
  }

  /** Sends one request and returns its reply frame, retransmitting the same bytes on every fault. */
  async #request(
    name: RequestName,
    payload: Buffer,
    options: { signal: AbortSignal; attemptTimeoutMs?: number | undefined; maxAttempts?: number },
  ): Promise<Frame> {
    return this.#exclusive(async () => {
      // EXEC and NETSTAT keep the agent quiet while a guest program runs; everything else is answered at once.
      this.#promptSince = name === 'exec' || name === 'netstat' ? undefined : performance.now();
      try {
        return await this.#transmit(name, payload, options);
      } finally {
        this.#promptSince = undefined;
      }
    });
  }

  async #transmit(
    name: RequestName,
    payload: Buffer,
    options: { signal: AbortSignal; attemptTimeoutMs?: number | undefined; maxAttempts?: number },
  ): Promise<Frame> {
    const seq = this.#nextSeq();
    const bytes = encodeFrame({ type: RequestType[name], seq, payload });
    const maxAttempts = options.maxAttempts ?? this.#maxAttempts;
    const attemptTimeoutMs = options.attemptTimeoutMs ?? this.#attemptTimeoutMs;
    const started = performance.now();
    const what = `${name.toUpperCase()} (seq ${seq})`;
    this.stats.requests++;
    let last: Outcome | undefined;
    let attempts = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      attempts = attempt;
      if (this.#closedBy) throw this.#closedBy;
      if (attempt > 1) {
        this.stats.retransmits++;
        debug('%s: retransmit %d after %s', what, attempt, last?.kind === 'fault' ? last.fault : '?');
      }
      const reply = this.#awaitReply(seq, attemptTimeoutMs, options.signal);
      try {
        await this.#write(bytes);
      } catch (error) {
        this.#fail(new AgentProtocolError(`writing ${what} to the serial stream failed: ${errorMessage(error)}`, { cause: error }));
        await reply;
        throw this.#closedBy ?? error;
      }
      last = await reply;
      if (last.kind === 'reply') return last.frame;
      if (options.signal.aborted) break;
    }
    if (this.#closedBy) throw this.#closedBy;
    const elapsed = performance.now() - started;
    const fault = last?.kind === 'fault' ? last : undefined;
    if (options.signal.aborted && !(options.signal.reason instanceof DeadlineReached)) throw options.signal.reason;
    if (!fault || fault.timeout || options.signal.aborted) {
      throw new AgentTimeoutError(what, attempts, elapsed, { lastFault: fault?.fault });
    }
    throw new AgentProtocolError(`every transmission of ${what} was damaged on the line (${attempts} attempts; last: ${fault.fault})`, {
      context: { request: name, seq, attempts },
    });
  }

  #awaitReply(seq: number, attemptTimeoutMs: number, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const finish = (outcome: Outcome): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.#pending?.seq === seq) this.#pending = undefined;
        resolve(outcome);
      };
      const onAbort = (): void => finish({ kind: 'fault', fault: 'deadline reached', timeout: true });
      const timer = setTimeout(
        () => finish({ kind: 'fault', fault: `no reply within ${attemptTimeoutMs} ms`, timeout: true }),
        attemptTimeoutMs,
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending = { seq, settle: finish };
    });
  }

  async #write(bytes: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#stream.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * How long the agent has owed a prompt answer with not one byte on the line:
   * 0 when nothing is pending, or when the pending call legitimately keeps the
   * agent busy and quiet (EXEC and NETSTAT wait for a guest program). The
   * silence budget (the spec's serialSilenceMs) is measured against this.
   */
  get silentWhileWaitingMs(): number {
    if (this.#promptSince === undefined) return 0;
    return performance.now() - Math.max(this.#lastByteAt, this.#promptSince);
  }

  readonly #onData = (chunk: Buffer | string): void => {
    this.#lastByteAt = performance.now();
    for (const event of this.#decoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk)) this.#onEvent(event);
  };

  #onEvent(event: DecodeEvent): void {
    const pending = this.#pending;
    switch (event.kind) {
      case 'garbage':
        this.stats.garbageBytes += event.bytes;
        debug('skipped %d garbage bytes', event.bytes);
        return;
      case 'corrupt':
        this.stats.corruptFrames++;
        if (pending?.seq === event.seq)
          pending.settle({ kind: 'fault', fault: `corrupt reply (bad frame CRC) for seq ${event.seq}`, timeout: false });
        return;
      case 'rejected':
        this.stats.rejectedFrames++;
        if (pending?.seq === event.seq) {
          pending.settle({
            kind: 'fault',
            fault: `reply rejected (${event.reason}, length ${event.length}, version ${event.version})`,
            timeout: false,
          });
        }
        return;
      case 'frame': {
        const { frame } = event;
        if (frame.seq === 0 && frame.type === ReplyType.banner) {
          this.stats.unsolicitedBanners++;
          debug('the agent (re)started: %s', decodeText(frame.payload.subarray(8)));
          return;
        }
        if (pending?.seq !== frame.seq) {
          this.stats.staleReplies++;
          debug('dropped a stale reply type 0x%s seq %d', frame.type.toString(16), frame.seq);
          return;
        }
        if (frame.type === ReplyType.nak) {
          this.stats.naks++;
          const nak = parseErrorReply(frame.payload);
          pending.settle({ kind: 'fault', fault: `NAK: ${nak.message}`, timeout: false });
          return;
        }
        pending.settle({ kind: 'reply', frame });
      }
    }
  }

  readonly #onError = (error: Error): void => {
    this.#fail(new AgentProtocolError(`the serial stream failed: ${error.message}`, { cause: error }));
  };

  readonly #onClose = (): void => {
    this.#fail(new AgentProtocolError('the serial stream closed (the agent, the line bridge or the container went away)'));
  };

  readonly #onEnd = (): void => {
    this.#fail(
      new AgentProtocolError('the serial stream ended (the guest side closed COM1: QEMU, the line bridge or the container went away)'),
    );
  };

  #fail(error: Error): void {
    this.#closedBy ??= error;
    this.#pending?.settle({ kind: 'fault', fault: error.message, timeout: false });
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    if (this.#seq === 0) this.#seq = 1;
    return this.#seq;
  }

  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await fn();
    } finally {
      release();
    }
  }
}

/** The reason of a deadline this client set (as opposed to the caller's own signal). */
class DeadlineReached extends Error {}

function deadlineSignal(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineReached(`deadline of ${Math.round(ms)} ms reached`)), ms);
  timer.unref();
  if (!signal) return controller.signal;
  return AbortSignal.any([signal, controller.signal]);
}

function unexpectedReply(request: string, frame: Frame): string {
  return `unexpected reply type 0x${frame.type.toString(16)} to ${request} (seq ${frame.seq})`;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
