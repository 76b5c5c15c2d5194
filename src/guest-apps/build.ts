import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { probeHostCommand } from '../util/host-command.ts';
import { PeAuditError } from '../pe/errors.ts';
import { auditPe } from '../pe/pe-audit.ts';
import { readPeFile } from '../pe/pe-reader.ts';
import type { GuestOs } from '../pe/os-allowlists.ts';
import type { ProgressSink } from '../report/progress.ts';
import { GuestBuildError } from './errors.ts';
import { GUEST_APPS, GUEST_APP_NAMES, type GuestAppName, type GuestAppSpec } from './guest-app-table.ts';
import { PROJECT_ROOT as REPO_ROOT } from '../util/paths.ts';
import { undeclaredImports } from './declared-imports.ts';
import { clearPeTimestamp } from './pe-timestamp.ts';
import { guestAppPath, guestBuildDir } from './paths.ts';
import { buildSteps, detectToolchain, type BuildStep, type Toolchain, type ToolchainChoice } from './toolchain.ts';

/** Bump when the build recipe changes in a way the flags do not show. */
const RECIPE_VERSION = 2;

export interface BuildGuestOptions {
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Programs to build; all of GUEST_APPS by default. */
  only?: readonly GuestAppName[];
  /** Absolute output folder; build/guest/<toolchain> by default. */
  outDir?: string;
  /** Rebuild even when the stamp matches. */
  force?: boolean;
  /** Environment that picks the toolchain (RETROLAB_TOOLCHAIN, WATCOM, RETROLAB_OPENWATCOM_TARBALL); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Overrides RETROLAB_TOOLCHAIN: `watcom`, `mingw`, or `auto` (Open Watcom when found). */
  toolchain?: ToolchainChoice;
}

export interface GuestBuildResult {
  name: GuestAppName;
  path: string;
  /** True when the stamp matched and the existing file was kept. */
  reused: boolean;
  toolchain: Toolchain['kind'];
  /** The compiler's version and origin, as the stamp records it. */
  toolchainIdentity: string;
  /** Hash of the inputs (sources, headers, flags, toolchain) the file was built from. */
  inputHash: string;
  /** sha256 of the program's bytes. */
  sha256: string;
  supportedOs: readonly GuestOs[];
}

/** `<name>.stamp` beside each program: what it was built from and by which toolchain. */
interface Stamp {
  inputHash: string;
  sha256: string;
  toolchainKind: Toolchain['kind'];
  toolchain: string;
}

async function resolveSources(spec: GuestAppSpec): Promise<string[]> {
  const resolved: string[] = [];
  for (const source of spec.sources) {
    if (source.endsWith('/*.c')) {
      const dir = source.slice(0, -'/*.c'.length);
      const names = (await readdir(join(REPO_ROOT, dir))).filter((n) => n.endsWith('.c')).sort();
      if (names.length === 0) throw new GuestBuildError(spec.name, `resolve ${source}`, null, `no .c files in ${dir}`);
      resolved.push(...names.map((n) => `${dir}/${n}`));
    } else {
      resolved.push(source);
    }
  }
  return resolved;
}

async function headersOf(spec: GuestAppSpec): Promise<string[]> {
  const headers: string[] = [];
  for (const dir of spec.includeDirs) {
    const names = (await readdir(join(REPO_ROOT, dir))).filter((n) => n.endsWith('.h')).sort();
    headers.push(...names.map((n) => `${dir}/${n}`));
  }
  return headers;
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readStamp(path: string): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

async function fileHash(path: string): Promise<string | undefined> {
  try {
    return sha256(await readFile(path));
  } catch {
    return undefined;
  }
}

async function runStep(app: string, step: BuildStep, signal: AbortSignal | undefined): Promise<string> {
  if (step.input) await writeFile(join(REPO_ROOT, step.input.path), step.input.content, { signal });
  const cwd = step.cwd === undefined ? REPO_ROOT : join(REPO_ROOT, step.cwd);
  const result = await probeHostCommand(step.command, step.args, { cwd, env: step.env, signal });
  const output = `${result.stdout}${result.stderr}`;
  if (result.exitCode !== 0) {
    signal?.throwIfAborted();
    const input = step.input ? `\n${step.input.path}:\n${step.input.content}` : '';
    throw new GuestBuildError(app, `${step.cwd === undefined ? '' : `(in ${step.cwd}) `}${[step.command, ...step.args].join(' ')}${input}`, result.exitCode, output);
  }
  return output;
}

async function buildOne(name: GuestAppName, toolchain: Toolchain, outDir: string, options: BuildGuestOptions): Promise<GuestBuildResult> {
  const spec: GuestAppSpec = GUEST_APPS[name];
  const scope = `guest:${name}`;
  const started = Date.now();
  const sources = await resolveSources(spec);
  const headers = await headersOf(spec);
  const finalPath = guestAppPath(name, outDir);
  const stampPath = join(outDir, `${name}.stamp`);
  // Built under a temporary name and renamed, so a reader never sees half a file and concurrent builds do not collide.
  const tmpName = `${name}.${process.pid}.tmp.exe`;
  const relOut = relative(REPO_ROOT, join(outDir, tmpName));
  const relObj = relative(REPO_ROOT, join(outDir, 'obj', name));
  const steps = buildSteps(toolchain, {
    sources,
    includeDirs: spec.includeDirs,
    libs: spec.libs,
    output: relOut,
    objectDir: relObj,
    repoRoot: REPO_ROOT,
  });
  const hashInput = {
    recipe: RECIPE_VERSION,
    toolchain: toolchain.identity,
    steps: steps.map((s) => [s.cwd ?? '.', s.command, ...s.args, s.input?.content ?? ''].join(' ').replaceAll(tmpName, `${name}.exe`)),
    files: await Promise.all(
      [...sources, ...headers].map(async (f) => [f, sha256(await readFile(join(REPO_ROOT, f), { signal: options.signal }))]),
    ),
  };
  const inputHash = sha256(JSON.stringify(hashInput));
  const stamp = await readStamp(stampPath);
  const existing = await fileHash(finalPath);
  const reused = !options.force && stamp?.inputHash === inputHash && stamp.sha256 === existing && existing !== undefined;
  if (!reused) {
    options.onProgress?.({ kind: 'step', scope, message: `building with ${toolchain.kind}` });
    await mkdir(join(outDir, 'obj', name), { recursive: true });
    try {
      for (const step of steps) {
        const output = await runStep(name, step, options.signal);
        for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
          options.onProgress?.({ kind: 'log', scope, line });
        }
      }
      // wlink stamps the link time into the header; cleared, equal sources give equal bytes with either toolchain.
      if (toolchain.kind === 'watcom') await clearPeTimestamp(name, join(outDir, tmpName));
      await rename(join(outDir, tmpName), finalPath);
    } finally {
      await rm(join(outDir, tmpName), { force: true });
    }
  }
  const image = await readPeFile(finalPath, options);
  const problems = auditPe(image, spec.supportedOs);
  const undeclared = undeclaredImports(image, spec.libs);
  if (problems.length > 0 || undeclared.length > 0) {
    // An unsafe program must not be deployed by accident: drop it with its stamp.
    await rm(finalPath, { force: true });
    await rm(stampPath, { force: true });
    if (problems.length > 0) throw new PeAuditError(finalPath, problems);
    throw new GuestBuildError(
      name,
      `check the imports of ${finalPath}`,
      null,
      `it imports ${undeclared.join('; ')}, which its GUEST_APPS entry does not link (${spec.libs.join(', ')}): a C runtime or a default library slipped in; build without it (Open Watcom: -zl, mingw: -nostdlib)`,
    );
  }
  const digest = (await fileHash(finalPath)) ?? '';
  if (!reused) {
    const next: Stamp = { inputHash, sha256: digest, toolchainKind: toolchain.kind, toolchain: toolchain.identity };
    await writeFile(stampPath, `${JSON.stringify(next, null, 2)}\n`);
  }
  options.onProgress?.({
    kind: 'done',
    scope,
    message: `${reused ? 'up to date' : 'built'}: ${relative(REPO_ROOT, finalPath)} (audited for ${spec.supportedOs.join(', ')})`,
    durationMs: Date.now() - started,
  });
  return { name, path: finalPath, reused, toolchain: toolchain.kind, toolchainIdentity: toolchain.identity, inputHash, sha256: digest, supportedOs: spec.supportedOs };
}

/**
 * Makes sure the guest programs exist and are current: builds those whose
 * inputs changed, reuses the rest, and audits every result against the OSes it
 * supports (throws PeAuditError naming DLL, function and OS). Programs build
 * one after another: the machines are small and shared.
 */
export async function buildGuestApps(options: BuildGuestOptions = {}): Promise<GuestBuildResult[]> {
  const toolchain = await detectToolchain({
    env: options.env,
    signal: options.signal,
    onProgress: options.onProgress,
    choice: options.toolchain,
  });
  const outDir = options.outDir ?? guestBuildDir(toolchain.kind);
  await mkdir(outDir, { recursive: true });
  const results: GuestBuildResult[] = [];
  for (const name of options.only ?? GUEST_APP_NAMES) {
    options.signal?.throwIfAborted();
    results.push(await buildOne(name, toolchain, outDir, options));
  }
  return results;
}
