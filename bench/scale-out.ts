// Bench case `scale-out`: the open matrix (wine and wine-vm, every scenario, each on a fresh guest)
// as `retrolab run` runs it, with --jobs 1 and --jobs 2 on the local engine: the wall time of the
// whole run, and how much of it the second slot saves.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgressSink } from '../src/report/progress.ts';
import { single, type BenchGroup, type BenchRow } from './bench-row.ts';
import { latestResults, prepareTargets, runRetrolab } from './retrolab-cli.ts';

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
    const results = await latestResults(root, signal);
    return { wallS, entries: results.entries.length };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export const scaleOut: BenchGroup = {
  name: 'scale-out',
  describe: 'the open matrix (--cycles 10) with --jobs 1 against --jobs 2 on the local engine',
  async run({ signal, onProgress }): Promise<BenchRow[]> {
    // Untimed: guest programs, the wine-vm disk and its saved state, so neither timed run pays a cold boot the other does not.
    onProgress({ kind: 'step', scope: 'bench', message: 'retrolab prepare (not timed)' });
    await prepareTargets(OPEN_TARGETS, signal);
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
