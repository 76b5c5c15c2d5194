/**
 * Edits Windows text files (WIN.INI, AUTOEXEC.BAT) as text: only the line
 * that must change is touched, everything else — comments, order, other keys
 * — stays, and lines end in CRLF as DOS and Windows write them.
 */

const CRLF = '\r\n';

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function joinLines(lines: string[]): string {
  return `${lines.join(CRLF)}${CRLF}`;
}

/**
 * Sets `key=value` in `[section]`: replaces the key's first line in that
 * section, or adds it after the section header, or adds the section at the end.
 * Windows reads only the first occurrence of a key, so later duplicates are dropped.
 */
export function setIniValue(text: string, section: string, key: string, value: string): string {
  const lines = splitLines(text);
  const header = (line: string) => /^\s*\[([^\]]*)\]/.exec(line)?.[1]?.trim().toLowerCase();
  const keyOf = (line: string) => /^\s*([^=;[]+?)\s*=/.exec(line)?.[1]?.toLowerCase();
  const start = lines.findIndex((line) => header(line) === section.toLowerCase());
  if (start < 0) return joinLines([...lines, `[${section}]`, `${key}=${value}`]);
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i += 1) {
    if (header(lines[i] ?? '') !== undefined) {
      end = i;
      break;
    }
  }
  const matches: number[] = [];
  for (let i = start + 1; i < end; i += 1) if (keyOf(lines[i] ?? '') === key.toLowerCase()) matches.push(i);
  const [first, ...duplicates] = matches;
  if (first === undefined) {
    lines.splice(start + 1, 0, `${key}=${value}`);
    return joinLines(lines);
  }
  lines[first] = `${key}=${value}`;
  return joinLines(lines.filter((_, i) => !duplicates.includes(i)));
}

/** Reads `key` in `[section]` (first occurrence), or undefined. */
export function getIniValue(text: string, section: string, key: string): string | undefined {
  let inSection = false;
  for (const line of splitLines(text)) {
    const header = /^\s*\[([^\]]*)\]/.exec(line)?.[1];
    if (header !== undefined) {
      inSection = header.trim().toLowerCase() === section.toLowerCase();
      continue;
    }
    const match = /^\s*([^=;[]+?)\s*=(.*)$/.exec(line);
    if (inSection && match?.[1]?.toLowerCase() === key.toLowerCase()) return match[2]?.trim();
  }
  return undefined;
}

/**
 * Puts `block` (lines) into a batch file between REM markers; a block from an
 * earlier preparation is replaced, so the edit is idempotent.
 */
export function setBatchBlock(text: string, marker: string, block: string[]): string {
  const begin = `REM ${marker} begin`;
  const end = `REM ${marker} end`;
  const lines = splitLines(text);
  const from = lines.indexOf(begin);
  const to = lines.indexOf(end);
  const kept = from >= 0 && to > from ? [...lines.slice(0, from), ...lines.slice(to + 1)] : lines;
  return joinLines([...kept, begin, ...block, end]);
}
