// The bench groups that time whole runs start the real CLI as a process, as a user would, and read
// the results.json it wrote.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RunResults } from '../src/model/run-results.ts';
import { readRunResults } from '../src/results/results-writer.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';

/** Runs `retrolab ARGS` (its stderr shown: progress; its stdout dropped) and resolves with its exit code. */
export function runRetrolab(args: readonly string[], signal: AbortSignal): Promise<number | null> {
  return new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/retrolab.js'), ...args], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      signal,
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
}

/** `retrolab prepare --target T...`: images, guest programs, the wine-vm disk and its saved state, so no timed run pays for them. */
export async function prepareTargets(targets: readonly string[], signal: AbortSignal): Promise<void> {
  const args = ['prepare', ...targets.flatMap((t) => ['--target', t])];
  const code = await runRetrolab(args, signal);
  if (code !== 0) throw new Error(`retrolab ${args.join(' ')} exited ${code}: fix that first (npx retrolab ${args.join(' ')})`);
}

/** The results.json of the run an --out folder's `latest` points at. */
export function latestResults(out: string, signal: AbortSignal): Promise<RunResults> {
  return readRunResults(join(out, 'latest', 'results.json'), { signal });
}
