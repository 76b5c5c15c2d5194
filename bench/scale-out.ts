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

/** The same shape as bench/main.ts's rows (kept here so this module imports nothing that runs the bench). */
interface ScaleOutRow {
  case: string;
  target: string;
  metric: string;
  value: number;
  unit: string;
  samples: number[];
}

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
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/retrolab.js'), ...args], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        signal,
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const wallS = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`retrolab lab --jobs ${jobs} exited ${code}: the timing of a run that failed says nothing`);
    const results = JSON.parse(await readFile(join(root, await readlink(join(root, 'latest')), 'results.json'), 'utf8')) as RunResults;
    return { wallS, entries: results.entries.length };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export const scaleOutCase = {
  name: 'scale-out',
  async run({ signal, onProgress }: { signal: AbortSignal; onProgress: ProgressSink }): Promise<ScaleOutRow[]> {
    const one = await runOnce(1, signal, onProgress);
    const two = await runOnce(2, signal, onProgress);
    const round = (v: number) => Math.round(v * 100) / 100;
    const row = (metric: string, unit: string, value: number): ScaleOutRow => ({
      case: 'scale-out',
      target: OPEN_TARGETS.join('+'),
      metric,
      value: round(value),
      unit,
      samples: [round(value)],
    });
    return [
      row(`open matrix (${one.entries} scenarios, --cycles ${CYCLES}), --jobs 1, one host`, 's', one.wallS),
      row(`open matrix (${two.entries} scenarios, --cycles ${CYCLES}), --jobs 2, one host`, 's', two.wallS),
      row('--jobs 2 wall time as share of --jobs 1', '%', (100 * two.wallS) / one.wallS),
    ];
  },
};
