// Bench case `scale-out`: the open matrix (wine and wine-vm, every scenario, each on a fresh guest)
// as `retrolab run` runs it, with --jobs 1 and --jobs 2 on the local engine: the wall time of the
// whole run, and how much of it the second slot saves.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResults } from '../src/model/run-results.ts';
import type { ProgressSink } from '../src/report/progress.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { single, type BenchGroup, type BenchRow } from './bench-row.ts';

/** Cycles per program run: the scenarios' own counts (up to 120) would make one sample last most of an hour under TCG. */
const CYCLES = 10;
const OPEN_TARGETS = ['wine', 'wine-vm'];

async function runOnce(jobs: number, signal: AbortSignal, onProgress: ProgressSink): Promise<{ wallS: number; entries: number }> {
  const root = await mkdtemp(join(tmpdir(), `retrolab-bench-jobs${jobs}-`));
  try {
    // lab: every scenario of the targets named.
    const args = [
      'lab',
      ...OPEN_TARGETS.flatMap((t) => ['--target', t]),
      '--cycles',
      String(CYCLES),
      '--jobs',
      String(jobs),
      '--host',
      'unix:///var/run/docker.sock',
      '--out',
      root,
    ];
    onProgress({ kind: 'step', scope: 'bench', message: `open matrix with --jobs ${jobs}` });
    const started = performance.now();
    const code = await runRetrolab(args, signal);
    const wallS = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`retrolab lab --jobs ${jobs} exited ${code}: the timing of a run that failed says nothing`);
    const results = JSON.parse(await readFile(join(root, await readlink(join(root, 'latest')), 'results.json'), 'utf8')) as RunResults;
    return { wallS, entries: results.entries.length };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function prepareOpenTargets(signal: AbortSignal): Promise<void> {
  const args = ['prepare', ...OPEN_TARGETS.flatMap((t) => ['--target', t])];
  const code = await runRetrolab(args, signal);
  if (code !== 0) throw new Error(`retrolab ${args.join(' ')} exited ${code}`);
}

/** Runs the CLI as a process (its stderr shown, its stdout dropped) and resolves with its exit code. */
function runRetrolab(args: readonly string[], signal: AbortSignal): Promise<number | null> {
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

export const scaleOut: BenchGroup = {
  name: 'scale-out',
  describe: 'the open matrix (--cycles 10) with --jobs 1 against --jobs 2 on the local engine',
  async run({ signal, onProgress }): Promise<BenchRow[]> {
    // Untimed: guest programs, the wine-vm disk and its saved state, so neither timed run pays a cold boot the other does not.
    onProgress({ kind: 'step', scope: 'bench', message: 'retrolab prepare (not timed)' });
    await prepareOpenTargets(signal);
    const one = await runOnce(1, signal, onProgress);
    const two = await runOnce(2, signal, onProgress);
    const target = OPEN_TARGETS.join('+');
    return [
      single('scale-out', target, `open matrix (${one.entries} scenarios, --cycles ${CYCLES}), --jobs 1, one host`, 's', one.wallS),
      single('scale-out', target, `open matrix (${two.entries} scenarios, --cycles ${CYCLES}), --jobs 2, one host`, 's', two.wallS),
      single('scale-out', target, '--jobs 2 wall time as share of --jobs 1', '%', (100 * two.wallS) / one.wallS),
    ];
  },
};
