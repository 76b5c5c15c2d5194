import { GuestOutputError } from './errors.ts';

/**
 * The guest programs (dupclose, duphandle, tcptab) print one event per line:
 * `event=NAME key=value key=value ...` (guest-apps/README.md). Values hold no
 * spaces, except a usage error's quoted argument; a word without `=` is
 * therefore the rest of the previous value.
 */
export interface GuestEventLine {
  event: string;
  fields: Record<string, string>;
  /** 1-based line in the program's output. */
  line: number;
}

export function parseGuestEventLines(text: string, program: string, origin?: string): GuestEventLine[] {
  const lines = text.split(/\r?\n|\r/);
  const events: GuestEventLine[] = [];
  lines.forEach((raw, index) => {
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((word) => word !== '');
    if (words.length === 0) return;
    if (!/^event=\S+$/.test(words[0] ?? ''))
      throw new GuestOutputError(program, index + 1, raw, 'a line must start with event=NAME', origin);
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const word of words) {
      const match = /^([a-z][a-z0-9_]*)=(.*)$/.exec(word);
      if (match !== null) {
        last = match[1] ?? '';
        fields[last] = match[2] ?? '';
      } else if (last !== undefined) {
        fields[last] = `${fields[last] ?? ''} ${word}`;
      }
    }
    const { event = '', ...rest } = fields;
    events.push({ event, fields: rest, line: index + 1 });
  });
  return events;
}
