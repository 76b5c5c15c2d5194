import { posix } from 'node:path';
import type { HostFiles } from '../docker/host-files.ts';

/**
 * A saved VM state and the disk overlay it belongs to. The state holds RAM and
 * devices only, so it is valid only together with the overlay as it was when
 * the state was saved; every run then writes to its own overlay on top. Both
 * live in the cache folder of the engine's machine (HostFiles): the overlay
 * names its backing disk by a path there.
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

export function warmStateDir(files: HostFiles, target: string, key: string): string {
  return posix.join(files.cacheDir, 'states', `${target}-${key}`);
}

/** The cached state for `key`, or undefined when there is none (or it is incomplete). */
export async function findWarmState(files: HostFiles, target: string, key: string): Promise<WarmState | undefined> {
  const dir = warmStateDir(files, target, key);
  try {
    const text = await files.readText(posix.join(dir, 'meta.json'));
    if (text === undefined) return undefined;
    const meta = JSON.parse(text) as Meta;
    if (meta.key !== key) return undefined;
    if (!(await files.exists(posix.join(dir, 'state.bin'))) || !(await files.exists(posix.join(dir, 'golden.qcow2')))) return undefined;
    return { dir, stateFile: posix.join(dir, 'state.bin'), goldenOverlay: posix.join(dir, 'golden.qcow2'), key, inputs: meta.inputs };
  } catch {
    return undefined;
  }
}

/** A folder to build a new state in; `commit` moves it into place only once it is complete. */
export async function beginWarmState(
  files: HostFiles,
  target: string,
  key: string,
): Promise<{
  dir: string;
  stateFile: string;
  goldenOverlay: string;
  commit(meta: Omit<Meta, 'key' | 'target' | 'savedAt'>): Promise<WarmState>;
  abandon(): Promise<void>;
}> {
  const final = warmStateDir(files, target, key);
  const dir = `${final}.building-${process.pid}`;
  await files.remove(dir);
  await files.mkdir(dir);
  return {
    dir,
    stateFile: posix.join(dir, 'state.bin'),
    goldenOverlay: posix.join(dir, 'golden.qcow2'),
    async commit(meta) {
      await files.writeText(
        posix.join(dir, 'meta.json'),
        `${JSON.stringify({ key, target, savedAt: new Date().toISOString(), ...meta }, null, 2)}\n`,
      );
      await files.move(dir, final);
      return {
        dir: final,
        stateFile: posix.join(final, 'state.bin'),
        goldenOverlay: posix.join(final, 'golden.qcow2'),
        key,
        inputs: meta.inputs,
      };
    },
    async abandon() {
      await files.remove(dir);
    },
  };
}
