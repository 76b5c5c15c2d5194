import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { probeHostCommand } from '../util/host-command.ts';
import { PrerequisiteError } from '../errors.ts';

/**
 * The two compilers that build the guest programs. Open Watcom is preferred
 * when the user has it (`WATCOM` set); Debian's mingw-w64 i686 cross compiler
 * is the default. Both build without a C runtime (guest-apps/rt).
 */
export type Toolchain =
  | { kind: 'mingw'; gcc: string; identity: string }
  | { kind: 'watcom'; root: string; wcc386: string; wlink: string; identity: string };

/** One process to run, with repository-relative paths so outputs do not depend on where the checkout lives. */
export interface BuildStep {
  command: string;
  args: string[];
  env?: Record<string, string>;
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

/** No default libraries (-zl), no stack-overflow checks calling the CRT (-s), stack calling convention (-3s). */
export const WATCOM_CFLAGS = ['-q', '-bt=nt', '-zl', '-s', '-os', '-3s'] as const;

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function firstLine(command: string, args: string[], signal: AbortSignal | undefined): Promise<string> {
  const result = await probeHostCommand(command, args, signal ? { signal } : {});
  return `${result.stdout}${result.stderr}`.split('\n')[0]?.trim() ?? '';
}

/** Picks Open Watcom when `WATCOM` is set, else mingw-w64; throws PrerequisiteError naming the fix when neither works. */
export async function detectToolchain(options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<Toolchain> {
  const env = options.env ?? process.env;
  const watcom = env.WATCOM;
  if (watcom !== undefined && watcom !== '') {
    for (const bin of ['binl64', 'binl']) {
      const wcc386 = join(watcom, bin, 'wcc386');
      const wlink = join(watcom, bin, 'wlink');
      if ((await isExecutable(wcc386)) && (await isExecutable(wlink))) {
        const identity = `watcom ${watcom} ${await firstLine(wcc386, ['-?'], options.signal)}`;
        return { kind: 'watcom', root: watcom, wcc386, wlink, identity };
      }
    }
    throw new PrerequisiteError(
      `WATCOM is set to ${watcom}, but neither ${watcom}/binl64 nor ${watcom}/binl holds wcc386 and wlink`,
      'point WATCOM at an unpacked Open Watcom v2 release, or unset it to build with mingw-w64',
      { context: { WATCOM: watcom } },
    );
  }
  const version = await firstLine(MINGW_GCC, ['--version'], options.signal).catch(() => '');
  if (!version) {
    throw new PrerequisiteError(
      `${MINGW_GCC} was not found on PATH (and WATCOM is not set)`,
      'apt-get install gcc-mingw-w64-i686 binutils-mingw-w64-i686 (scripts/host-setup.sh does this), or set WATCOM to an Open Watcom v2 install',
    );
  }
  const ld = await firstLine('i686-w64-mingw32-ld', ['--version'], options.signal);
  return { kind: 'mingw', gcc: MINGW_GCC, identity: `mingw ${version} / ${ld}` };
}

function objectName(source: string): string {
  return source.replace(/\.c$/, '.obj').replaceAll('/', '_');
}

/** The processes that turn the sources into the program, in order. */
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
  const env = { INCLUDE: `${toolchain.root}/h:${toolchain.root}/h/nt`, WATCOM: toolchain.root };
  const objects = request.sources.map((s) => `${request.objectDir}/${objectName(s)}`);
  const compile = request.sources.map((source, i) => ({
    command: toolchain.wcc386,
    args: [...WATCOM_CFLAGS, ...request.includeDirs.map((d) => `-i=${d}`), `-fo=${objects[i]}`, source],
    env,
  }));
  const link: BuildStep = {
    command: toolchain.wlink,
    args: [
      'system', 'nt',
      'option', 'quiet',
      'option', 'start=_rt_entry@0',
      'runtime', 'console=4.0',
      'name', request.output,
      'file', objects.join(','),
      'library', request.libs.map((l) => `${l}.lib`).join(','),
    ],
    env,
  };
  return [...compile, link];
}
