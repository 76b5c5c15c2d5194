// The warm open matrix through the real CLI (`retrolab lab --target wine --target wine-vm`, every scenario,
// a clean guest each), after `retrolab prepare` so images, programs and saved states exist. From its
// results.json: the wall time, cycles per second per target, the time per phase, the clean-guest start
// per scenario and the orchestrator overhead (wall minus the guest's own time); with --jobs 1 and with
// --jobs 2. The runs' folders are kept (results/bench/open-matrix/jobs-N/latest): their entries say where
// the time went scenario by scenario.
import { join } from 'node:path';
import { PHASE_NAMES } from '../src/model/run-results.ts';
import { phaseTotals } from '../src/results/phase-totals.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { atMost, row, Samples, seconds, single, type BenchGroup, type BenchRow } from './bench-row.ts';
import { latestResults, prepareTargets, runRetrolab } from './retrolab-cli.ts';

const TARGETS = ['wine', 'wine-vm'] as const;
const OUT = join(PROJECT_ROOT, 'results', 'bench', 'open-matrix');
/** One slot (the phases add up to the wall time) and two (a wine and a wine-vm scenario at once, or two wine-vm guests). */
const JOBS = [1, 2] as const;

export const openMatrix: BenchGroup = {
  name: 'open-matrix',
  describe:
    'warm open matrix wall time via `retrolab lab`, --jobs 1 and 2 (goal <= 150 s), cycles/s, time per phase, overhead, guest start',
  // One run whatever --runs says: a lab run of the open matrix takes minutes.
  async run({ signal, onProgress }) {
    const targetArgs = TARGETS.flatMap((t) => ['--target', t]);
    onProgress({ kind: 'step', scope: 'bench', message: `retrolab prepare ${targetArgs.join(' ')} (not timed)` });
    await prepareTargets(TARGETS, signal);
    const runs = [];
    for (const jobs of JOBS) {
      const out = join(OUT, `jobs-${jobs}`);
      onProgress({ kind: 'step', scope: 'bench', message: `retrolab lab ${targetArgs.join(' ')} --jobs ${jobs} --out ${out}` });
      const wall = new Samples();
      const started = performance.now();
      const code = await runRetrolab(['lab', ...targetArgs, '--jobs', String(jobs), '--out', out], signal);
      wall.add(seconds(started));
      // Exit 1 is a verdict that failed; the timing still holds. 2 and 3 mean the lab did not run through.
      if (code !== 0 && code !== 1)
        throw new Error(`retrolab lab --jobs ${jobs} exited with ${code}: the matrix did not run through (see ${out}/latest)`);
      runs.push({ jobs, wall, results: await latestResults(out, signal) });
    }
    const rows: BenchRow[] = runs.map(({ jobs, wall, results }) => {
      const failed = results.entries.filter((e) => e.verdict !== 'pass').map((e) => `${e.target}/${e.scenario}: ${e.verdict}`);
      const cycles = results.entries.reduce((sum, e) => sum + (e.counts?.cyclesRun ?? 0), 0);
      return row('open-matrix', 'wine + wine-vm', `warm open matrix: \`retrolab lab --jobs ${jobs}\` wall time`, 's', wall, {
        goal: atMost(150),
        note: `${results.entries.length} entries, ${cycles} cycles; ${failed.length === 0 ? 'every verdict passed' : `not passed: ${failed.join(', ')}`}`,
      });
    });
    // Where the time goes, from the one-slot run: there the scenarios' phases do not overlap.
    const results = runs[0]!.results;
    for (const totals of phaseTotals(results)) {
      const entries = results.entries.filter((e) => e.target === totals.target && e.phases);
      const cyclesRun = entries.reduce((sum, e) => sum + (e.counts?.cyclesRun ?? 0), 0);
      const starts = new Samples();
      for (const e of entries) if (e.phases) starts.add(e.phases.guestStart / 1000);
      const slowest = [...entries]
        .sort((a, b) => b.phases!.wall - a.phases!.wall)
        .map((e) => `${e.scenario} ${(e.phases!.wall / 1000).toFixed(0)} s (${e.counts?.cyclesRun ?? 0} cycles)`)
        .join(', ');
      rows.push(
        single('open-matrix', totals.target, `scenarios' wall time, summed (${totals.scenarios} scenarios)`, 's', totals.wall / 1000, {
          note: slowest,
        }),
        single(
          'open-matrix',
          totals.target,
          'cycles per second (cycles run / time in the cycles phase)',
          'cycles/s',
          cyclesRun / (totals.phases.cycles / 1000),
          {
            note: `${cyclesRun} cycles in ${(totals.phases.cycles / 1000).toFixed(1)} s`,
          },
        ),
        single('open-matrix', totals.target, 'orchestrator overhead (wall minus guest-side time)', 's', totals.overhead / 1000, {
          note: `${((100 * totals.overhead) / totals.wall).toFixed(0)}% of ${(totals.wall / 1000).toFixed(1)} s; guest side ${(totals.guestSide / 1000).toFixed(1)} s (the programs' own run time and the execs around them)`,
        }),
        row('open-matrix', totals.target, 'guest start per scenario, in the matrix (phase guestStart)', 's', starts),
        ...PHASE_NAMES.filter((name) => totals.phases[name] > 0).map((name) =>
          single('open-matrix', totals.target, `phase ${name}, summed over the scenarios`, 's', totals.phases[name] / 1000, {
            note: `${((100 * totals.phases[name]) / totals.wall).toFixed(0)}% of the target's scenario time`,
          }),
        ),
      );
    }
    return rows;
  },
};
