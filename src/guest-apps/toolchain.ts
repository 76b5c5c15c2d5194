import { delimiter, join, posix } from 'node:path';
import { ConfigError, PrerequisiteError } from '../errors.ts';
import type { ProgressSink } from '../report/progress.ts';
import { probeHostCommand } from '../util/host-command.ts';
import { locateOpenWatcom, OPEN_WATCOM_FIX, type OpenWatcomInstall } from './open-watcom.ts';
import { quoteWccValue, wlinkDirectives } from './watcom-command-line.ts';

/**
 * The two compilers that build the guest programs. Open Watcom (the design
 * card's compiler) is the default whenever one is found (open-watcom.ts);
 * Debian's mingw-w64 i686 cross compiler otherwise. `--toolchain` or
 * RETROLAB_TOOLCHAIN picks one. Both build without a C runtime (guest-apps/rt).
 */
export const TOOLCHAIN_KINDS = ['watcom', 'mingw'] as const;
export type ToolchainKind = (typeof TOOLCHAIN_KINDS)[number];
export type ToolchainChoice = ToolchainKind | 'auto';

/** The environment variable that picks the toolchain (`--toolchain` sets it for the whole run). */
export const TOOLCHAIN_ENV = 'RETROLAB_TOOLCHAIN';

export type Toolchain =
  | { kind: 'mingw'; gcc: string; identity: string }
  | { kind: 'watcom'; root: string; bin: string; wcc386: string; wlink: string; identity: string; install: OpenWatcomInstall };

/** One process to run, with repository-relative paths so outputs do not depend on where the checkout lives. */
export interface BuildStep {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Repository-relative folder to run in; the repository root by default. */
  cwd?: string;
  /** A file the step reads, written (repository-relative path) just before it runs. */
  input?: { path: string; content: string };
}

export interface CompileRequest {
  /** Repository-relative, resolved (no globs). */
  sources: readonly string[];
  includeDirs: readonly string[];
  libs: readonly string[];
  /** Repository-relative output file. */
  output: string;
  /** Repository-relative folder for object files (Open Watcom compiles each file separately). */
  objectDir: string;
  /** Absolute repository root, mapped to `.` in anything the compiler records. */
  repoRoot: string;
}

export const MINGW_GCC = 'i686-w64-mingw32-gcc';

/**
 * -march=i486: Win95 guests run on `-cpu pentium`, which has no CMOV (gcc's i686 default emits it).
 * -fno-tree-loop-distribute-patterns: keeps gcc from turning rt's memset/memcpy loops into calls to themselves.
 * No -lgcc: Debian's libgcc is built for i686 (CMOV); a program that needs a libgcc helper (64-bit division, stack probes) fails to link instead of faulting on a Pentium.
 */
export const MINGW_CFLAGS = [
  '-std=c89',
  '-pedantic',
  '-Wall',
  '-Wextra',
  '-Os',
  '-march=i486',
  '-mtune=generic',
  '-mpreferred-stack-boundary=2',
  '-ffreestanding',
  '-fno-tree-loop-distribute-patterns',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-fno-stack-protector',
  '-fno-ident',
] as const;

/** No CRT, our own entry point, subsystem 4.0 for Win95, no time stamp or build id so equal sources give equal bytes. */
export const MINGW_LDFLAGS = [
  '-nostdlib',
  '-s',
  '-Wl,-e,_rt_entry@0',
  '-Wl,--subsystem,console:4.0',
  '-Wl,--major-os-version,4',
  '-Wl,--minor-os-version,0',
  '-Wl,--no-insert-timestamp',
] as const;

/**
 * -zl: no default-library records, so nothing pulls in clib (it would import USER32 CharUpperA).
 * -s: no stack-overflow checks (they call the CRT). -3s: 386 code, arguments on the stack.
 * -os: small code. -wx -we: every warning, as errors (the C stays clean under both compilers).
 */
export const WATCOM_CFLAGS = ['-q', '-bt=nt', '-zl', '-s', '-os', '-3s', '-wx', '-we'] as const;

/** The stdcall entry point rt provides (guest-apps/rt/rt.h). */
export const RT_ENTRY = '_rt_entry@0';

async function firstLine(command: string, args: string[], signal: AbortSignal | undefined): Promise<string> {
  const result = await probeHostCommand(command, args, { signal });
  return `${result.stdout}${result.stderr}`.split('\n')[0]?.trim() ?? '';
}

/** Reads `--toolchain`/RETROLAB_TOOLCHAIN text; throws ConfigError naming the choices. */
export function parseToolchainChoice(value: string | undefined, where: string = TOOLCHAIN_ENV): ToolchainChoice {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if ((TOOLCHAIN_KINDS as readonly string[]).includes(value)) return value as ToolchainKind;
  throw new ConfigError(`${where}: unknown toolchain ${JSON.stringify(value)}; choose from ${TOOLCHAIN_KINDS.join(', ')} (or auto: Open Watcom when present)`);
}

export interface DetectOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Overrides RETROLAB_TOOLCHAIN. */
  choice?: ToolchainChoice;
  /** Passed to locateOpenWatcom (tests point these elsewhere). */
  cache?: string;
  sharedToolchains?: string;
}

async function watcomToolchain(install: OpenWatcomInstall, signal: AbortSignal | undefined): Promise<Toolchain> {
  const wcc386 = join(install.bin, 'wcc386');
  const wlink = join(install.bin, 'wlink');
  const banner = await firstLine(wcc386, ['-?'], signal);
  const origin = install.sha256 ? `${install.from} sha256:${install.sha256}` : `${install.from} ${install.root}`;
  return { kind: 'watcom', root: install.root, bin: install.bin, wcc386, wlink, identity: `watcom ${origin} ${banner}`, install };
}

async function mingwToolchain(signal: AbortSignal | undefined, why: string): Promise<Toolchain> {
  const version = await firstLine(MINGW_GCC, ['--version'], signal).catch(() => '');
  if (!version) {
    throw new PrerequisiteError(
      `${MINGW_GCC} was not found on PATH (${why})`,
      `apt-get install gcc-mingw-w64-i686 binutils-mingw-w64-i686 (scripts/host-setup.sh does this), or ${OPEN_WATCOM_FIX}`,
    );
  }
  const ld = await firstLine('i686-w64-mingw32-ld', ['--version'], signal);
  return { kind: 'mingw', gcc: MINGW_GCC, identity: `mingw ${version} / ${ld}` };
}

/**
 * The toolchain to build with: the one asked for (option, RETROLAB_TOOLCHAIN),
 * else Open Watcom when one is found, else mingw-w64. Throws PrerequisiteError
 * naming the fix when the one asked for is missing.
 */
export async function detectToolchain(options: DetectOptions = {}): Promise<Toolchain> {
  const env = options.env ?? process.env;
  const choice = options.choice ?? parseToolchainChoice(env[TOOLCHAIN_ENV]);
  if (choice === 'mingw') return mingwToolchain(options.signal, `${TOOLCHAIN_ENV} or --toolchain asked for mingw`);
  const install = await locateOpenWatcom({
    env,
    signal: options.signal,
    onProgress: options.onProgress,
    cache: options.cache,
    sharedToolchains: options.sharedToolchains,
  });
  if (install) return watcomToolchain(install, options.signal);
  if (choice === 'watcom') throw new PrerequisiteError('the watcom toolchain was asked for, but no Open Watcom was found', OPEN_WATCOM_FIX);
  return mingwToolchain(options.signal, 'and no Open Watcom was found');
}

function objectName(source: string): string {
  return source.replace(/\.c$/, '.obj').replaceAll('/', '_');
}

/** The processes that turn the sources into the program, in order. Paths are repository-relative. */
export function buildSteps(toolchain: Toolchain, request: CompileRequest): BuildStep[] {
  if (toolchain.kind === 'mingw') {
    return [
      {
        command: toolchain.gcc,
        args: [
          ...MINGW_CFLAGS,
          `-ffile-prefix-map=${request.repoRoot.replace(/\/$/, '')}=.`,
          ...request.includeDirs.map((d) => `-I${d}`),
          '-o',
          request.output,
          ...request.sources,
          ...MINGW_LDFLAGS,
          ...request.libs.map((l) => `-l${l}`),
        ],
      },
    ];
  }
  // wlink finds its system definitions (wlink.lnk: `system nt`) along PATH, and the libraries through WATCOM.
  const env = {
    INCLUDE: `${toolchain.root}/h${delimiter}${toolchain.root}/h/nt`,
    WATCOM: toolchain.root,
    PATH: `${toolchain.bin}${delimiter}${process.env.PATH ?? ''}`,
  };
  const objects = request.sources.map((s) => posix.join(request.objectDir, objectName(s)));
  const compile = request.sources.map((source, i) => ({
    command: toolchain.wcc386,
    args: [...WATCOM_CFLAGS, ...request.includeDirs.map((d) => `-i=${quoteWccValue(d)}`), `-fo=${quoteWccValue(objects[i]!)}`, quoteWccValue(source)],
    env,
  }));
  const fromObjectDir = (path: string) => posix.relative(request.objectDir, path);
  const link: BuildStep = {
    command: toolchain.wlink,
    args: ['@link.lnk'],
    env,
    cwd: request.objectDir,
    input: {
      path: posix.join(request.objectDir, 'link.lnk'),
      content: wlinkDirectives({ output: fromObjectDir(request.output), objects: objects.map(fromObjectDir), libs: request.libs, entry: RT_ENTRY }),
    },
  };
  return [...compile, link];
}
