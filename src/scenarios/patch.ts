import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { TargetHandle } from '../targets/target-handle.ts';

/** A folder copied into the guest before the scenarios, and an optional command that installs it. */
export interface PatchSpec {
  dir: string;
  installCommand?: string;
}

const PATCH_FOLDER = 'patch';

export async function validatePatchDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new ConfigError(`--patch ${dir}: not a folder. Give a folder whose files are copied into the guest.`);
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
    const file = join(patch.dir, entry.name);
    await handle.agent.putFile(`${guestDir}\\${relative(patch.dir, file)}`, await readFile(file), options);
  }
  if (patch.installCommand) await handle.agent.execChecked(patch.installCommand, { cwd: guestDir, timeoutMs: 300_000, ...options });
}
