import { ConfigError } from '../errors.ts';
import { quoteInput } from '../util/quote-input.ts';

/**
 * REGEDIT4 files: the one registry format `regedit` imports on Windows 95, 98
 * and NT 4 alike (`regedit /s file.reg`, or real-mode REGEDIT on 9x), and the
 * one hivexregedit merges offline. Only string and DWORD values are needed
 * here; the parser reads the templates in vms/<target>/ and nothing else.
 */

export type RegValue = { type: 'sz'; data: string } | { type: 'dword'; data: number };

export interface RegKey {
  path: string;
  values: Map<string, RegValue>;
}

export class RegFile {
  readonly keys: RegKey[] = [];

  static parse(text: string, source: string): RegFile {
    const lines = text.split(/\r?\n/);
    if (lines[0]?.trim() !== 'REGEDIT4') throw new ConfigError(`${source}: line 1: must be REGEDIT4 (the header Windows 95 understands)`);
    const file = new RegFile();
    let current: RegKey | undefined;
    lines.slice(1).forEach((raw, i) => {
      const line = raw.trim();
      if (line.length === 0) return;
      const key = /^\[(.+)\]$/.exec(line)?.[1];
      if (key !== undefined) {
        current = file.key(key);
        return;
      }
      const value = /^"((?:[^"\\]|\\.)*)"=(.*)$/.exec(line);
      if (!value || !current) throw new ConfigError(`${source}: line ${i + 2}: expected [KEY] or "name"=value, got ${quoteInput(line)}`);
      current.values.set(unescape(value[1] ?? ''), parseValue(value[2] ?? '', `${source}: line ${i + 2}`));
    });
    return file;
  }

  /** The key at `path`, added at the end when it is not there yet. */
  key(path: string): RegKey {
    let found = this.keys.find((k) => k.path.toLowerCase() === path.toLowerCase());
    if (!found) {
      found = { path, values: new Map() };
      this.keys.push(found);
    }
    return found;
  }

  set(path: string, name: string, value: RegValue): this {
    // REGEDIT4 is line-based: a line break would end the value and start a line of the caller's choosing.
    for (const [field, text] of [['key', path], ['value name', name], ...(value.type === 'sz' ? [['value', value.data]] : [])] as const) {
      if (LINE_BREAKING.test(text))
        throw new ConfigError(`${path}\\${name}: the ${field} holds a CR, LF or NUL character, which a .reg file cannot carry`);
    }
    this.key(path).values.set(name, value);
    return this;
  }

  get(path: string, name: string): RegValue | undefined {
    return this.keys.find((k) => k.path.toLowerCase() === path.toLowerCase())?.values.get(name);
  }

  /** CRLF text with a trailing blank line (Win9x REGEDIT drops a last value that has no line end after it). */
  render(): string {
    const out = ['REGEDIT4', ''];
    for (const key of this.keys) {
      out.push(`[${key.path}]`);
      for (const [name, value] of key.values) out.push(`"${escape(name)}"=${renderValue(value)}`);
      out.push('');
    }
    return `${out.join('\r\n')}\r\n`;
  }
}

const LINE_BREAKING = /[\r\n\0]/;

function parseValue(text: string, where: string): RegValue {
  const sz = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (sz) return { type: 'sz', data: unescape(sz[1] ?? '') };
  const dword = /^dword:([0-9a-fA-F]{8})$/.exec(text);
  if (dword) return { type: 'dword', data: Number.parseInt(dword[1] ?? '0', 16) };
  throw new ConfigError(`${where}: only "string" and dword:XXXXXXXX values are supported, got ${quoteInput(text)}`);
}

function renderValue(value: RegValue): string {
  return value.type === 'sz' ? `"${escape(value.data)}"` : `dword:${value.data.toString(16).padStart(8, '0')}`;
}

function escape(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}
