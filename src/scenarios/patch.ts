import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { TargetHandle } from '../targets/target-handle.ts';
import { quoteInput } from '../util/quote-input.ts';

/** A folder copied into the guest before the scenarios, and an optional command that installs it. */
export interface PatchSpec {
  dir: string;
  installCommand?: string;
}

const PATCH_FOLDER = 'patch';

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
 * Copies the files at the top of the patch folder to `<guestWorkDir>\patch`
 * and runs the install command there. A failing install stops the run: testing a patch that
 * did not install would compare the wrong thing with the baseline.
 */
export async function applyPatch(handle: TargetHandle, patch: PatchSpec, options: { signal?: AbortSignal } = {}): Promise<void> {
  await validatePatchDir(patch.dir);
  const guestDir = `${handle.guestWorkDir}\\${PATCH_FOLDER}`;
  await handle.agent.exec(`mkdir ${guestDir}`, { cwd: handle.guestWorkDir, ...options });
  for (const entry of await readdir(patch.dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    await handle.agent.putFile(`${guestDir}\\${entry.name}`, await readFile(join(patch.dir, entry.name)), options);
  }
  if (patch.installCommand) await handle.agent.execChecked(patch.installCommand, { cwd: guestDir, timeoutMs: 300_000, ...options });
}
