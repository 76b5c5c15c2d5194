import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../util/paths.ts';

/**
 * The retrolab that wrote a results file: the package version and the git
 * commit of the checkout (with `-dirty` when it has uncommitted changes), so a
 * result can be traced to the code that decided it. Null outside a git checkout.
 */
export async function retrolabVersion(options: { signal?: AbortSignal } = {}): Promise<{ version: string; commit: string | null }> {
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string };
  const git = (args: string[]) =>
    new Promise<string | null>((resolve) => {
      execFile('git', ['-C', PROJECT_ROOT, ...args], { timeout: 10_000, signal: options.signal }, (error, stdout) => resolve(error ? null : stdout.trim()));
    });
  const commit = await git(['rev-parse', 'HEAD']);
  const dirty = commit === null ? null : await git(['status', '--porcelain', '--untracked-files=no']);
  return { version: pkg.version ?? '0.0.0', commit: commit === null ? null : `${commit}${dirty ? '-dirty' : ''}` };
}
