import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../util/paths.ts';

/**
 * A saved VM state and the disk overlay it belongs to. The state holds RAM and
 * devices only, so it is valid only together with the overlay as it was when
 * the state was saved; every run then writes to its own overlay on top.
 */
export interface WarmState {
  dir: string;
  stateFile: string;
  goldenOverlay: string;
  key: string;
  /** What the state was made from (meta.json's inputs). */
  inputs?: Record<string, unknown>;
}

interface Meta {
  key: string;
  target: string;
  savedAt: string;
  stateBytes: number;
  inputs: Record<string, unknown>;
}

export function warmStateDir(target: string, key: string): string {
  return join(cacheDir(), 'states', `${target}-${key}`);
}

/** The cached state for `key`, or undefined when there is none (or it is incomplete). */
export async function findWarmState(target: string, key: string): Promise<WarmState | undefined> {
  const dir = warmStateDir(target, key);
  try {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Meta;
    if (meta.key !== key) return undefined;
    await stat(join(dir, 'state.bin'));
    await stat(join(dir, 'golden.qcow2'));
    return { dir, stateFile: join(dir, 'state.bin'), goldenOverlay: join(dir, 'golden.qcow2'), key, inputs: meta.inputs };
  } catch {
    return undefined;
  }
}

/** A folder to build a new state in; `commit` moves it into place only once it is complete. */
export async function beginWarmState(
  target: string,
  key: string,
): Promise<{
  dir: string;
  stateFile: string;
  goldenOverlay: string;
  commit(meta: Omit<Meta, 'key' | 'target' | 'savedAt'>): Promise<WarmState>;
  abandon(): Promise<void>;
}> {
  const final = warmStateDir(target, key);
  const dir = `${final}.building-${process.pid}`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return {
    dir,
    stateFile: join(dir, 'state.bin'),
    goldenOverlay: join(dir, 'golden.qcow2'),
    async commit(meta) {
      await writeFile(join(dir, 'meta.json'), `${JSON.stringify({ key, target, savedAt: new Date().toISOString(), ...meta }, null, 2)}\n`);
      await rm(final, { recursive: true, force: true });
      await rename(dir, final);
      return { dir: final, stateFile: join(final, 'state.bin'), goldenOverlay: join(final, 'golden.qcow2'), key, inputs: meta.inputs };
    },
    async abandon() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
