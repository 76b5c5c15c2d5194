import { readFile } from 'node:fs/promises';
import { PeFormatError } from './errors.ts';

/** IMAGE_FILE_MACHINE_I386. */
export const MACHINE_I386 = 0x14c;
/** IMAGE_NT_OPTIONAL_HDR32_MAGIC (PE32, not PE32+). */
export const OPTIONAL_MAGIC_PE32 = 0x10b;

/** Indexes into the optional header's data directories (winnt.h order). */
export const DataDirectory = {
  export: 0,
  import: 1,
  resource: 2,
  exception: 3,
  security: 4,
  baseReloc: 5,
  debug: 6,
  architecture: 7,
  globalPtr: 8,
  tls: 9,
  loadConfig: 10,
  boundImport: 11,
  iat: 12,
  delayImport: 13,
  clrRuntime: 14,
} as const;

export interface PeVersion {
  major: number;
  minor: number;
}

export interface PeSection {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
  characteristics: number;
}

export interface PeDirectory {
  rva: number;
  size: number;
}

export type PeImportedFunction = { kind: 'name'; name: string; hint: number } | { kind: 'ordinal'; ordinal: number };

export interface PeImport {
  /** As written in the image (case varies: `KERNEL32.dll`, `WSOCK32.DLL`). */
  dll: string;
  functions: PeImportedFunction[];
}

export interface PeImage {
  machine: number;
  characteristics: number;
  timeDateStamp: number;
  optionalMagic: number;
  subsystem: number;
  subsystemVersion: PeVersion;
  osVersion: PeVersion;
  imageBase: number;
  entryPointRva: number;
  sections: PeSection[];
  directories: PeDirectory[];
  imports: PeImport[];
  /** The TLS directory entry when the image has one (Win95 cannot load implicit TLS in a program started this way). */
  tls: PeDirectory | undefined;
}

/** Stops a corrupt image from sending the import walk round forever. */
const MAX_IMPORT_DESCRIPTORS = 256;
const MAX_THUNKS_PER_DLL = 4096;
const MAX_NAME_LENGTH = 512;

/** Bounds-checked little-endian reads that name the offset of a truncated field. */
class ByteView {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #file: string;

  constructor(bytes: Uint8Array, file: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#file = file;
  }

  get length(): number {
    return this.#bytes.length;
  }

  fail(offset: number, problem: string): never {
    throw new PeFormatError(this.#file, offset, problem);
  }

  #check(offset: number, size: number, what: string): void {
    if (offset < 0 || offset + size > this.#bytes.length) {
      this.fail(offset, `${what} runs past the end of the file (${this.#bytes.length} bytes)`);
    }
  }

  u16(offset: number, what: string): number {
    this.#check(offset, 2, what);
    return this.#view.getUint16(offset, true);
  }

  u32(offset: number, what: string): number {
    this.#check(offset, 4, what);
    return this.#view.getUint32(offset, true);
  }

  /** A NUL-terminated ASCII string. */
  cString(offset: number, what: string): string {
    this.#check(offset, 1, what);
    let end = offset;
    while (end < this.#bytes.length && this.#bytes[end] !== 0) {
      end++;
      if (end - offset > MAX_NAME_LENGTH) this.fail(offset, `${what} is longer than ${MAX_NAME_LENGTH} bytes`);
    }
    if (end >= this.#bytes.length) this.fail(offset, `${what} is not NUL-terminated`);
    return Buffer.from(this.#bytes.subarray(offset, end)).toString('latin1');
  }

  fixedString(offset: number, size: number, what: string): string {
    this.#check(offset, size, what);
    const raw = this.#bytes.subarray(offset, offset + size);
    const nul = raw.indexOf(0);
    return Buffer.from(nul === -1 ? raw : raw.subarray(0, nul)).toString('latin1');
  }
}

function rvaToOffset(view: ByteView, sections: readonly PeSection[], headersSize: number, rva: number, what: string): number {
  if (rva < headersSize) return rva;
  for (const s of sections) {
    const span = Math.max(s.virtualSize, s.rawSize);
    if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
      const delta = rva - s.virtualAddress;
      if (delta >= s.rawSize)
        view.fail(s.rawOffset + delta, `${what} (RVA 0x${rva.toString(16)}) lies in the uninitialised part of section ${s.name}`);
      return s.rawOffset + delta;
    }
  }
  return view.fail(rva, `${what} (RVA 0x${rva.toString(16)}) is in no section`);
}

function readImports(view: ByteView, sections: readonly PeSection[], headersSize: number, dir: PeDirectory): PeImport[] {
  if (dir.rva === 0 || dir.size === 0) return [];
  const imports: PeImport[] = [];
  const base = rvaToOffset(view, sections, headersSize, dir.rva, 'import directory');
  for (let i = 0; ; i++) {
    if (i >= MAX_IMPORT_DESCRIPTORS) view.fail(base, `more than ${MAX_IMPORT_DESCRIPTORS} import descriptors without a terminator`);
    const d = base + i * 20;
    const originalFirstThunk = view.u32(d, 'import descriptor');
    const nameRva = view.u32(d + 12, 'import descriptor name');
    const firstThunk = view.u32(d + 16, 'import descriptor thunk');
    if (originalFirstThunk === 0 && nameRva === 0 && firstThunk === 0) break;
    const dll = view.cString(rvaToOffset(view, sections, headersSize, nameRva, 'imported DLL name'), 'imported DLL name');
    // The lookup table (OriginalFirstThunk) is the unbound copy; old linkers leave it 0 and only fill FirstThunk.
    const thunkRva = originalFirstThunk !== 0 ? originalFirstThunk : firstThunk;
    const thunks = rvaToOffset(view, sections, headersSize, thunkRva, `import lookup table of ${dll}`);
    const functions: PeImportedFunction[] = [];
    for (let t = 0; ; t++) {
      if (t >= MAX_THUNKS_PER_DLL) view.fail(thunks, `import lookup table of ${dll} has no terminator`);
      const entry = view.u32(thunks + t * 4, `import lookup entry of ${dll}`);
      if (entry === 0) break;
      if ((entry & 0x80000000) !== 0) {
        functions.push({ kind: 'ordinal', ordinal: entry & 0xffff });
      } else {
        const hintName = rvaToOffset(view, sections, headersSize, entry, `import name of ${dll}`);
        functions.push({
          kind: 'name',
          hint: view.u16(hintName, 'import hint'),
          name: view.cString(hintName + 2, `import name of ${dll}`),
        });
      }
    }
    imports.push({ dll, functions });
  }
  return imports;
}

/** Parses a PE32 image's headers, sections, data directories and import table. `file` names it in errors. */
export function readPe(bytes: Uint8Array, file: string): PeImage {
  const view = new ByteView(bytes, file);
  if (view.length < 64 || view.u16(0, 'DOS header') !== 0x5a4d) view.fail(0, 'no MZ signature');
  const peOffset = view.u32(0x3c, 'e_lfanew');
  if (view.u32(peOffset, 'PE signature') !== 0x00004550) view.fail(peOffset, 'no PE\\0\\0 signature at e_lfanew');
  const coff = peOffset + 4;
  const machine = view.u16(coff, 'machine');
  const sectionCount = view.u16(coff + 2, 'section count');
  const timeDateStamp = view.u32(coff + 4, 'time stamp');
  const optionalSize = view.u16(coff + 16, 'optional header size');
  const characteristics = view.u16(coff + 18, 'characteristics');
  const opt = coff + 20;
  const optionalMagic = view.u16(opt, 'optional header magic');
  if (optionalMagic !== OPTIONAL_MAGIC_PE32) {
    view.fail(opt, `optional header magic is 0x${optionalMagic.toString(16)}, not 0x10b (PE32)`);
  }
  const entryPointRva = view.u32(opt + 16, 'entry point');
  const imageBase = view.u32(opt + 28, 'image base');
  const osVersion = { major: view.u16(opt + 40, 'OS version'), minor: view.u16(opt + 42, 'OS version') };
  const subsystemVersion = { major: view.u16(opt + 48, 'subsystem version'), minor: view.u16(opt + 50, 'subsystem version') };
  const headersSize = view.u32(opt + 60, 'size of headers');
  const subsystem = view.u16(opt + 68, 'subsystem');
  const directoryCount = view.u32(opt + 92, 'number of data directories');
  if (96 + Math.min(directoryCount, 16) * 8 > optionalSize)
    view.fail(opt + 92, `${directoryCount} data directories do not fit an optional header of ${optionalSize} bytes`);
  const directories: PeDirectory[] = [];
  for (let i = 0; i < Math.min(directoryCount, 16); i++) {
    directories.push({ rva: view.u32(opt + 96 + i * 8, 'data directory'), size: view.u32(opt + 100 + i * 8, 'data directory') });
  }
  const sectionTable = opt + optionalSize;
  const sections: PeSection[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = sectionTable + i * 40;
    sections.push({
      name: view.fixedString(s, 8, 'section name'),
      virtualSize: view.u32(s + 8, 'section size'),
      virtualAddress: view.u32(s + 12, 'section address'),
      rawSize: view.u32(s + 16, 'section raw size'),
      rawOffset: view.u32(s + 20, 'section raw offset'),
      characteristics: view.u32(s + 36, 'section characteristics'),
    });
  }
  const importDir = directories[DataDirectory.import] ?? { rva: 0, size: 0 };
  const tlsDir = directories[DataDirectory.tls];
  return {
    machine,
    characteristics,
    timeDateStamp,
    optionalMagic,
    subsystem,
    subsystemVersion,
    osVersion,
    imageBase,
    entryPointRva,
    sections,
    directories,
    imports: readImports(view, sections, headersSize, importDir),
    tls: tlsDir !== undefined && (tlsDir.rva !== 0 || tlsDir.size !== 0) ? tlsDir : undefined,
  };
}

export async function readPeFile(path: string, options: { signal?: AbortSignal } = {}): Promise<PeImage> {
  const bytes = await readFile(path, { signal: options.signal });
  return readPe(bytes, path);
}
