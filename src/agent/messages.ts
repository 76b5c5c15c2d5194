import { AgentProtocolError } from './errors.ts';

// Types and payload layouts of guest-apps/agent/PROTOCOL.md ("Types").
export const RequestType = {
  hello: 0x01,
  ping: 0x02,
  put: 0x03,
  get: 0x04,
  delete: 0x05,
  exec: 0x06,
  netstat: 0x07,
  sysinfo: 0x08,
  shutdown: 0x09,
} as const;
export type RequestName = keyof typeof RequestType;

export const ReplyType = { banner: 0x80, ok: 0x81, error: 0x82, fatal: 0x83, nak: 0x84 } as const;

export const ErrorKind: Record<number, string> = {
  1: 'WIN32',
  2: 'BAD_REQUEST',
  3: 'UNKNOWN_TYPE',
  4: 'FRAME_TOO_LARGE',
  5: 'BAD_VERSION',
  6: 'PUT_ORDER',
  7: 'BAD_CRC',
};

export const PUT_FINAL = 0x01;
const EXEC_TIMED_OUT = 0x01;
const EXEC_STDOUT_TRUNCATED = 0x02;
const EXEC_STDERR_TRUNCATED = 0x04;

/** Guest paths and command lines travel in the guest's ANSI code page; latin1 keeps bytes 1:1. */
const GUEST_ENCODING = 'latin1';

export function str16(text: string, field: string, limit: number): Buffer {
  const bytes = Buffer.from(text, GUEST_ENCODING);
  if (bytes.length > limit) {
    throw new AgentProtocolError(`${field} is ${bytes.length} bytes, over the agent's limit of ${limit}: ${text.slice(0, 80)}`, {
      context: { field, length: bytes.length, limit },
    });
  }
  const out = Buffer.alloc(2 + bytes.length);
  out.writeUInt16LE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

export const MAX_PATH_BYTES = 259;
export const MAX_COMMAND_BYTES = 4000;

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}

/** Reads a payload field by field and fails with the request's name and the offset. */
export class PayloadReader {
  #offset = 0;
  constructor(
    readonly payload: Buffer,
    readonly what: string,
  ) {}

  #need(bytes: number, field: string): void {
    if (this.#offset + bytes > this.payload.length) {
      throw new AgentProtocolError(
        `${this.what} reply is too short: ${field} needs ${bytes} bytes at offset ${this.#offset}, payload is ${this.payload.length}`,
        { context: { request: this.what, field, offset: this.#offset, length: this.payload.length } },
      );
    }
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.payload.readUInt8(this.#offset++);
  }
  u16(field: string): number {
    this.#need(2, field);
    const v = this.payload.readUInt16LE(this.#offset);
    this.#offset += 2;
    return v;
  }
  u32(field: string): number {
    this.#need(4, field);
    const v = this.payload.readUInt32LE(this.#offset);
    this.#offset += 4;
    return v;
  }
  bytes(length: number, field: string): Buffer {
    this.#need(length, field);
    const v = this.payload.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return v;
  }
  rest(): Buffer {
    const v = this.payload.subarray(this.#offset);
    this.#offset = this.payload.length;
    return v;
  }
}

export interface AgentBanner {
  protocolVersion: number;
  maxPayload: number;
  text: string;
}

export function parseBanner(payload: Buffer): AgentBanner {
  const r = new PayloadReader(payload, 'BANNER');
  const protocolVersion = r.u16('protocol version');
  r.u16('reserved');
  const maxPayload = r.u32('max payload');
  return { protocolVersion, maxPayload, text: r.rest().toString(GUEST_ENCODING) };
}

export interface ErrorReply {
  kind: number;
  kindName: string;
  win32Error: number;
  message: string;
}

export function parseErrorReply(payload: Buffer): ErrorReply {
  const r = new PayloadReader(payload, 'ERROR');
  const kind = r.u16('kind');
  const win32Error = r.u32('win32 error');
  return { kind, kindName: ErrorKind[kind] ?? `kind ${kind}`, win32Error, message: r.rest().toString(GUEST_ENCODING) };
}

export interface ExecReply {
  exitCode: number;
  timedOut: boolean;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  guestDurationMs: number;
  stdout: string;
  stderr: string;
}

export function parseExecReply(payload: Buffer, what: string): ExecReply {
  const r = new PayloadReader(payload, what);
  const exitCode = r.u32('exit code');
  const flags = r.u8('flags');
  const guestDurationMs = r.u32('duration');
  const stdout = r.bytes(r.u32('stdout length'), 'stdout').toString(GUEST_ENCODING);
  const stderr = r.bytes(r.u32('stderr length'), 'stderr').toString(GUEST_ENCODING);
  return {
    exitCode,
    timedOut: (flags & EXEC_TIMED_OUT) !== 0,
    stdoutTruncated: (flags & EXEC_STDOUT_TRUNCATED) !== 0,
    stderrTruncated: (flags & EXEC_STDERR_TRUNCATED) !== 0,
    guestDurationMs,
    stdout,
    stderr,
  };
}

export function encodeText(text: string): Buffer {
  return Buffer.from(text, GUEST_ENCODING);
}

export function decodeText(bytes: Buffer): string {
  return bytes.toString(GUEST_ENCODING);
}
