import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskToolError } from './errors.ts';
import { runTool } from './host-tool.ts';
import type { RegFile } from './reg-file.ts';

/**
 * NT 4's registry hives edited offline with hivexregedit (libwin-hivex-perl).
 * Values are only ever merged into keys that exist in a real SOFTWARE hive
 * (Winlogon, Run), which is what hivex handles safely; strings are written
 * UTF-16LE as NT stores them.
 */

export const SOFTWARE_PREFIX = 'HKEY_LOCAL_MACHINE\\SOFTWARE';

export async function hiveHasKey(hive: string, key: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  try {
    await runTool('hivexregedit', ['--export', hive, key], options);
    return true;
  } catch (error) {
    if (error instanceof DiskToolError) return false;
    throw error;
  }
}

/** Merges a REGEDIT4 file whose keys all start with `prefix` into a hive file, in place. */
export async function mergeIntoHive(hive: string, reg: RegFile, prefix: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'retrolab-hive-'));
  try {
    const file = join(dir, 'merge.reg');
    await writeFile(file, reg.render(), 'latin1');
    await runTool('hivexregedit', ['--merge', '--prefix', prefix, '--encoding', 'UTF-16LE', hive, file], options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A key's values as hivexregedit exports them (REGEDIT5 text, strings as hex(1) or "..." ). */
export async function exportHiveKey(hive: string, key: string, options: { signal?: AbortSignal } = {}): Promise<string> {
  return runTool('hivexregedit', ['--export', hive, key], options);
}
