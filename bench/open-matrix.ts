// The warm open matrix through the real CLI (`retrolab lab --target wine --target wine-vm`, every scenario,
// a clean guest each), after `retrolab prepare` so images, programs and saved states exist. From its
// results.json: the wall time, cycles per second per target, the clean-guest start per scenario and the
// orchestrator overhead (wall minus the guest's own time, from the phase times of every entry).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { readRunResults } from '../src/results/results-writer.ts';
import { phaseTotals } from '../src/results/phase-totals.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { atMost, row, Samples, seconds, single, type BenchGroup, type BenchRow } from './bench-row.ts';

const TARGETS = ['wine', 'wine-vm'] as const;
const CLI = join(PROJECT_ROOT, 'bin', 'retrolab.js');

export const openMatrix: BenchGroup = {
  name: 'open-matrix',
  describe: 'warm open matrix wall time via `retrolab lab` (goal <= 150 s), cycles/s, overhead, guest start per scenario',
  // One run whatever --runs says: a lab run of the open matrix takes minutes.
  async run({ signal, onProgress }) {
    const targetArgs = TARGETS.flatMap((t) => ['--target', t]);
    onProgress({ kind: 'step', scope: 'bench', message: `retrolab prepare ${targetArgs.join(' ')} (not timed)` });
    await $({ signal, cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] })`node ${CLI} prepare ${targetArgs}`;
    const wall = new Samples();
    const rows: BenchRow[] = [];
    const count = 1;
    for (let i = 0; i < count; i++) {
      const out = await mkdtemp(join(tmpdir(), 'retrolab-bench-matrix-'));
      try {
        onProgress({ kind: 'step', scope: 'bench', message: `retrolab lab ${targetArgs.join(' ')} (${i + 1}/${count})` });
        const started = performance.now();
        const result = await $({
          signal,
          cwd: PROJECT_ROOT,
          stdio: ['ignore', 'inherit', 'inherit'],
          nothrow: true,
        })`node ${CLI} lab ${targetArgs} --out ${out}`;
        wall.add(seconds(started));
        // Exit 1 is a verdict that failed; the timing still holds. 2 and 3 mean the lab did not run through.
        if (result.exitCode !== 0 && result.exitCode !== 1)
          throw new Error(`retrolab lab exited with ${result.exitCode}: the matrix did not run through`);
        if (i < count - 1) continue;
        const results = await readRunResults(join(out, 'latest', 'results.json'), { signal });
        const failed = results.entries.filter((e) => e.verdict !== 'pass').map((e) => `${e.target}/${e.scenario}: ${e.verdict}`);
        const verdictNote = failed.length === 0 ? 'every verdict passed' : `not passed: ${failed.join(', ')}`;
        for (const totals of phaseTotals(results)) {
          const entries = results.entries.filter((e) => e.target === totals.target && e.phases);
          const cyclesRun = entries.reduce((sum, e) => sum + (e.counts?.cyclesRun ?? 0), 0);
          const starts = new Samples();
          for (const e of entries) if (e.phases) starts.add(e.phases.guestStart / 1000);
          rows.push(
            single('open-matrix', totals.target, `scenarios' wall time, summed (${totals.scenarios} scenarios)`, 's', totals.wall / 1000),
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
              note: `${((100 * totals.overhead) / totals.wall).toFixed(0)}% of ${(totals.wall / 1000).toFixed(1)} s; guest side ${(totals.guestSide / 1000).toFixed(1)} s`,
            }),
            row('open-matrix', totals.target, 'guest start per scenario, in the matrix (phase guestStart)', 's', starts),
          );
        }
        rows.unshift(
          row('open-matrix', 'wine + wine-vm', 'warm open matrix: `retrolab lab` wall time', 's', wall, {
            goal: atMost(150),
            note: `${results.entries.length} entries; ${verdictNote}`,
          }),
        );
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    }
    return rows;
  },
};
