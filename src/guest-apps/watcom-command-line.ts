import { ConfigError } from '../errors.ts';

/**
 * Quoting for Open Watcom's command lines, which are not argv: both tools join
 * their arguments back into one string (wrapping any with a space in double
 * quotes) and parse that again.
 *
 * wlink reads `@name` anywhere as "take directives from file/variable name",
 * so the `@0` of the stdcall entry `_rt_entry@0` became "cannot open 0"; and a
 * re-wrapped argument with a space breaks its directive parser. The link
 * therefore goes through a directive file, run from the folder that holds it
 * (`wlink @link.lnk`), with every name in it single-quoted, which wlink takes
 * literally (spaces and `@` included).
 *
 * wcc386 takes `-fo="…"`, `-i="…"` and `"file.c"` with literal double quotes.
 */

/** Characters neither tool reads specially. */
const PLAIN = /^[A-Za-z0-9_./-]+$/;

/** A name (file, symbol) for a wlink directive: single-quoted unless it is plainly safe. */
export function quoteWlinkName(name: string): string {
  if (name === '' || name.includes("'") || /[\r\n]/.test(name)) {
    throw new ConfigError(`wlink cannot be given the name ${JSON.stringify(name)}: it cannot quote a single quote or a line break; rename the file or folder`);
  }
  return PLAIN.test(name) ? name : `'${name}'`;
}

/** A value for a wcc386 option or a source path: double-quoted when it holds anything but plain characters. */
export function quoteWccValue(value: string): string {
  if (value === '' || value.includes('"') || /[\r\n]/.test(value)) {
    throw new ConfigError(`wcc386 cannot be given ${JSON.stringify(value)}: it cannot quote a double quote or a line break; rename the file or folder`);
  }
  return PLAIN.test(value) ? value : `"${value}"`;
}

export interface WlinkRequest {
  /** Output file, relative to the directive file's folder (wlink runs there). */
  output: string;
  objects: readonly string[];
  /** Import libraries without suffix (`ws2_32`). */
  libs: readonly string[];
  /** The PE entry point, a decorated stdcall name such as `_rt_entry@0`. */
  entry: string;
}

/**
 * The directive file for a Win32 console program without a C runtime: our
 * entry point, subsystem 4.0 (Windows 95), and no default libraries besides
 * the import libraries named (the objects are compiled with -zl, so nothing
 * asks for clib; OW's clib would import USER32 CharUpperA).
 */
export function wlinkDirectives(request: WlinkRequest): string {
  const lines = [
    'system nt',
    'option quiet',
    `option start=${quoteWlinkName(request.entry)}`,
    'runtime console=4.0',
    // OW writes OperatingSystemVersion 1.11 by default; 4.0 as mingw writes (Windows does not check it).
    'option osversion=4.0',
    `name ${quoteWlinkName(request.output)}`,
    ...request.objects.map((o) => `file ${quoteWlinkName(o)}`),
    ...request.libs.map((l) => `library ${quoteWlinkName(`${l}.lib`)}`),
  ];
  return `${lines.join('\n')}\n`;
}
