/**
 * A place to write hand-assembled 16-bit x86 code: each instruction goes in
 * as its bytes with its mnemonic beside them (kept for a listing), and the
 * only thing computed here is the distance to a label (rel8/rel16 jumps and
 * calls) or a label's address (abs16 data references). No encoding is
 * chosen by this file; the caller writes every opcode.
 */

type Fixup = { at: number; label: string; kind: 'rel8' | 'rel16' | 'abs16'; end: number };
type Line = { label: string } | { offset: number; length: number; text: string; data: boolean };

export class RealModeCode {
  readonly origin: number;
  readonly #bytes: number[] = [];
  readonly #labels = new Map<string, number>();
  readonly #fixups: Fixup[] = [];
  readonly #lines: Line[] = [];

  /** `origin`: the address of the first byte as the code sees it (its offset in CS and DS). */
  constructor(origin: number) {
    this.origin = origin;
  }

  label(name: string): this {
    if (this.#labels.has(name)) throw new Error(`label ${name} defined twice`);
    this.#labels.set(name, this.#bytes.length);
    this.#lines.push({ label: name });
    return this;
  }

  /** An instruction whose bytes need nothing from a label. */
  op(bytes: number[], mnemonic: string): this {
    this.#lines.push({ offset: this.#bytes.length, length: bytes.length, text: mnemonic, data: false });
    this.#bytes.push(...bytes);
    return this;
  }

  /**
   * An instruction with a label reference after its opcode bytes: `rel8`/`rel16`
   * (distance from the end of the instruction) or `abs16` (the label's address),
   * then optional trailing bytes (an immediate after a memory operand).
   */
  ref(opcode: number[], label: string, kind: Fixup['kind'], mnemonic: string, trailing: number[] = []): this {
    const at = this.#bytes.length + opcode.length;
    const size = kind === 'rel8' ? 1 : 2;
    this.#fixups.push({ at, label, kind, end: at + size + trailing.length });
    return this.op([...opcode, ...new Array<number>(size).fill(0), ...trailing], mnemonic);
  }

  /** Data bytes (strings, tables). */
  data(bytes: number[] | Buffer, what: string): this {
    this.#lines.push({ offset: this.#bytes.length, length: bytes.length, text: what, data: true });
    this.#bytes.push(...bytes);
    return this;
  }

  /** Zero bytes up to an offset from the start. */
  padTo(offset: number, what: string): this {
    if (this.#bytes.length > offset) throw new Error(`code runs past offset ${hex(offset)} (${what}): ${hex(this.#bytes.length)}`);
    return this.data(new Array<number>(offset - this.#bytes.length).fill(0), what);
  }

  /** Addresses, bytes and mnemonics, one instruction a line: read it when changing a program. */
  listing(): string {
    const code = this.assemble();
    return this.#lines
      .map((line) => {
        if ('label' in line) return `${line.label}:`;
        const at = hex(this.origin + line.offset);
        if (line.data) return `  ${at}  ${line.text} (${line.length} bytes)`;
        const bytes = [...code.subarray(line.offset, line.offset + line.length)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
        return `  ${at}  ${bytes.padEnd(24)} ${line.text}`;
      })
      .join('\n');
  }

  assemble(): Buffer {
    const out = Buffer.from(this.#bytes);
    for (const fixup of this.#fixups) {
      const target = this.#labels.get(fixup.label);
      if (target === undefined) throw new Error(`no label ${fixup.label}`);
      if (fixup.kind === 'abs16') {
        out.writeUInt16LE(this.origin + target, fixup.at);
        continue;
      }
      const distance = target - fixup.end;
      if (fixup.kind === 'rel8') {
        if (distance < -128 || distance > 127) throw new Error(`${fixup.label}: ${distance} bytes away, too far for a short jump`);
        out.writeInt8(distance, fixup.at);
      } else {
        out.writeInt16LE(distance, fixup.at);
      }
    }
    return out;
  }
}

function hex(value: number): string {
  return value.toString(16).padStart(4, '0');
}
