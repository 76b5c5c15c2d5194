import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, RetrolabError } from '../errors.ts';
import type { PatchRecord } from '../model/run-results.ts';
import type { SavedStatePatch, TargetHandle } from '../targets/target-handle.ts';
import { quoteInput } from '../util/quote-input.ts';

/** A folder copied into the guest before the scenarios, and an optional command that installs it. */
export interface PatchSpec {
  dir: string;
  installCommand?: string;
}

/** When a patch is installed: in every scenario's guest, or once before the saved state they all start from. */
export const PATCH_WHEN = ['per-guest', 'saved-state'] as const;
export type PatchWhen = (typeof PATCH_WHEN)[number];

/** The patch read once on the host: its files and the hash that identifies them in the results. */
export interface PreparedPatch {
  spec: PatchSpec;
  sha256: string;
  files: readonly { name: string; bytes: Buffer }[];
}

/** The patch's install command failed in a guest: the target's scenarios would test the unpatched system, so none of them run. */
export class PatchInstallError extends RetrolabError {
  readonly record: PatchRecord;

  constructor(message: string, record: PatchRecord, options: { cause?: unknown } = {}) {
    super(message, { ...options, context: { dir: record.dir, installCommand: record.installCommand, exitCode: record.exitCode } });
    this.record = record;
  }
}

const PATCH_FOLDER = 'patch';
/** What the results keep of the install command's output. */
const OUTPUT_KEEP = 4000;

/** Names DOS and Windows reserve in every folder, with any extension (CON.TXT is the console too). */
const DEVICE_NAME = /^(con|prn|aux|nul|clock\$|com[1-9]|lpt[1-9])(\..*)?$/i;

/**
 * A patch file's name becomes part of a guest path: a separator or `..`
 * would write outside the patch folder, a drive colon somewhere else
 * entirely, and a device name (NUL, COM1 — the agent's own line) would not
 * be a file at all.
 */
export function checkPatchFileName(name: string): string | undefined {
  if (/[\\/:]/.test(name)) return 'holds \\, / or :, which the guest reads as a path';
  if (name.includes('..')) return 'holds "..", which the guest reads as the parent folder';
  if (DEVICE_NAME.test(name.trim())) return 'is a DOS device name (CON, PRN, AUX, NUL, CLOCK$, COM1-9, LPT1-9), not a file in the guest';
  if ([...name].some((c) => c.charCodeAt(0) < 0x20)) return 'holds a control character';
  return undefined;
}

export async function validatePatchDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigError(`--patch ${dir}: not a folder. Give a folder whose files are copied into the guest.`);
  const problems: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const problem = checkPatchFileName(entry.name);
    if (problem) problems.push(`--patch ${dir}: file ${quoteInput(entry.name)} ${problem}; rename it`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

/**
 * Reads the patch folder (flat: its files are copied to one guest folder) and
 * hashes it: each file's name and bytes, in name order, so the same folder
 * gives the same hash on every machine and any change to it shows.
 */
export async function preparePatch(spec: PatchSpec, options: { signal?: AbortSignal } = {}): Promise<PreparedPatch> {
  await validatePatchDir(spec.dir);
  const entries = (await readdir(spec.dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  if (folders.length > 0) {
    throw new ConfigError(
      `--patch ${spec.dir}: holds folder(s) ${folders.join(', ')}; a patch folder is copied flat into the guest. Put every file at its top (the install command can arrange them).`,
    );
  }
  const hash = createHash('sha256');
  const files: { name: string; bytes: Buffer }[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const bytes = await readFile(join(spec.dir, entry.name), { signal: options.signal });
    hash.update(`${entry.name}\0${bytes.length}\0`).update(bytes);
    files.push({ name: entry.name, bytes });
  }
  return { spec, sha256: hash.digest('hex'), files };
}

/**
 * Copies the patch's files to `<guestWorkDir>\patch` and runs the install
 * command there; returns what the results record. A failing install throws
 * PatchInstallError carrying that record: testing a patch that did not
 * install would compare the wrong thing with the baseline.
 */
export async function applyPatch(
  handle: Pick<TargetHandle, 'agent' | 'guestWorkDir'>,
  patch: PreparedPatch,
  options: { signal?: AbortSignal; appliedTo?: PatchRecord['appliedTo'] } = {},
): Promise<PatchRecord> {
  const call = { signal: options.signal };
  const guestDir = `${handle.guestWorkDir}\\${PATCH_FOLDER}`;
  // `NUL` inside a folder exists exactly when the folder does, on command.com as on cmd.
  await handle.agent.execChecked(`if not exist ${guestDir}\\NUL mkdir ${guestDir}`, {
    cwd: handle.guestWorkDir,
    timeoutMs: 30_000,
    ...call,
  });
  for (const file of patch.files) await handle.agent.putFile(`${guestDir}\\${file.name}`, file.bytes, call);
  const record: PatchRecord = {
    dir: patch.spec.dir,
    sha256: patch.sha256,
    files: patch.files.length,
    installCommand: patch.spec.installCommand ?? null,
    exitCode: null,
    output: '',
    appliedTo: options.appliedTo ?? 'each-guest',
  };
  if (patch.spec.installCommand === undefined) return record;
  const result = await handle.agent.exec(patch.spec.installCommand, { cwd: guestDir, timeoutMs: 300_000, ...call });
  const output = `${result.stdout}${result.stderr ? `${result.stdout ? '\n' : ''}${result.stderr}` : ''}`;
  record.exitCode = result.exitCode;
  record.output = output.length > OUTPUT_KEEP ? `...${output.slice(-OUTPUT_KEEP)}` : output;
  if (result.timedOut || result.exitCode !== 0) {
    const what = result.timedOut ? `timed out after ${result.durationMs} ms` : `exited with code ${result.exitCode}`;
    throw new PatchInstallError(
      `the patch install command ${JSON.stringify(patch.spec.installCommand)} ${what} in ${guestDir}${output.trim() ? `:\n${output.trim().split(/\r?\n/).slice(-10).join('\n')}` : ''}`,
      record,
    );
  }
  return record;
}

/**
 * The patch as a target installs it before taking the state its guests start
 * from (`--patch-when saved-state`). The key (files' hash and install
 * command) makes a QEMU target's saved state and wine's patched image the
 * patch's own.
 */
export function savedStatePatchOf(patch: PreparedPatch): SavedStatePatch {
  const key = createHash('sha256')
    .update(`${patch.sha256}\0${patch.spec.installCommand ?? ''}`)
    .digest('hex');
  return {
    key,
    install: (guest, options) => applyPatch(guest, patch, { ...options, appliedTo: 'saved-state' }),
  };
}
