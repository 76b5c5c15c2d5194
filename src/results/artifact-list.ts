import { readdir, rmdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ArtifactRef } from '../model/run-results.ts';

/** The folder of an entry's artifacts inside the run folder: artifacts/<target>/<scenario>. */
export function artifactsFolder(runDir: string, target: string, scenario: string): string {
  return join(runDir, 'artifacts', target, scenario);
}

function kindOf(name: string): ArtifactRef['kind'] {
  if (name.endsWith('.png')) return 'screenshot';
  if (name.includes('serial')) return 'serial';
  if (name.includes('console')) return 'console';
  if (name.endsWith('.log') || name.endsWith('.txt')) return 'log';
  return 'other';
}

/** Every file under `folder`, as references relative to the run folder; none when the folder does not exist. */
export async function listArtifacts(runDir: string, folder: string): Promise<ArtifactRef[]> {
  const names = await readdir(folder, { recursive: true }).catch(() => [] as string[]);
  const refs: ArtifactRef[] = [];
  for (const name of names.sort()) {
    const path = join(folder, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    refs.push({ path: relative(runDir, path).split(sep).join('/'), kind: kindOf(name), bytes: info.size });
  }
  return refs;
}

/** Removes the empty folders under `root` (deepest first), and `root` itself when it ends up empty. */
export async function pruneEmptyFolders(root: string): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return;
  for (const entry of entries) if (entry.isDirectory()) await pruneEmptyFolders(join(root, entry.name));
  if ((await readdir(root).catch(() => ['?'])).length === 0) await rmdir(root).catch(() => undefined);
}
