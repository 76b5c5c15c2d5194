import { Duplex } from 'node:stream';

const TAIL_BYTES = 16 * 1024;

/**
 * The guest's COM1 as a Duplex for whoever speaks the agent protocol, with a
 * recorder on the side: when the last byte arrived (serial-silence detection)
 * and the last bytes themselves (the tail that goes into failure reports).
 * Bytes are passed on untouched and with backpressure; nothing is consumed.
 */
export class SerialLine extends Duplex {
  readonly #socket: Duplex;
  #tail = Buffer.alloc(0);
  #lastByteAt: number;
  #bytesReceived = 0;

  constructor(socket: Duplex) {
    super();
    this.#socket = socket;
    this.#lastByteAt = Date.now();
    socket.on('data', (chunk: Buffer) => {
      this.#record(chunk);
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
  }

  /** Milliseconds since the guest last wrote a byte (since connecting, if it never did). */
  get silentForMs(): number {
    return Date.now() - this.#lastByteAt;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Everything still held from the end of the stream, as text. */
  tailText(): string {
    return this.#tail.toString('latin1');
  }

  /** The last `count` lines, control characters shown as `\xNN` so a report prints them safely. */
  lastLines(count = 20): string[] {
    return lastLinesOf(this.tailText(), count);
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }

  #record(chunk: Buffer): void {
    this.#lastByteAt = Date.now();
    this.#bytesReceived += chunk.length;
    this.#tail = Buffer.concat([this.#tail, chunk]);
    if (this.#tail.length > TAIL_BYTES) this.#tail = this.#tail.subarray(this.#tail.length - TAIL_BYTES);
  }
}

/** The last `count` non-empty-ended lines of a text, each made printable. */
export function lastLinesOf(text: string, count: number): string[] {
  const lines = text.split(/\r?\n|\r/).map(printable);
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines.slice(-count);
}

/** Control and non-ASCII characters as `\xNN`, so a report prints a line safely. */
function printable(line: string): string {
  let out = '';
  for (const char of line) {
    const code = char.charCodeAt(0);
    out += code === 0x09 || (code >= 0x20 && code < 0x7f) ? char : `\\x${code.toString(16).padStart(2, '0')}`;
  }
  return out;
}
