// The socket sampler's cost, as an A/B on the same scenario: `retrolab run --scenario dup-close` on
// wine and wine-vm with the looks at the socket table back to back while the cycles run
// (--sample-share 1, how the sampler worked before it was paced), at the default share, and with no
// looks until the cycles are over (--sample-share 0). The arms alternate run by run, so a change in the
// machine's load falls on all of them. From each run's results.json: the cycles phase and the settle
// after it (looks the cycles did not get are taken there, up to MIN_SAMPLES, so the two together are
// the sampler's whole cost), the cycles per second, and the looks the series got while the cycles ran.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultEntry } from '../src/model/run-results.ts';
import { SAMPLE_SHARE } from '../src/scenarios/socket-sampler.ts';
import { row, Samples, type BenchGroup, type BenchRow } from './bench-row.ts';
import { latestResults, prepareTargets, runRetrolab } from './retrolab-cli.ts';

const TARGETS = ['wine', 'wine-vm'] as const;
const SCENARIO = 'dup-close';
/** Enough cycles for a series of many looks on wine-vm at about a cycle a second, few enough that one arm takes about a minute. */
const CYCLES = 40;
const RUNS = 2;
const SHARES = [1, SAMPLE_SHARE, 0] as const;

interface Arm {
  cyclesS: Samples;
  cyclesSettleS: Samples;
  rate: Samples;
  looks: Samples;
}

const looksWhileCycling = (entry: ResultEntry): number => entry.socketSeries?.samples.filter((s) => s.phase === 'cycles').length ?? 0;

export const sampler: BenchGroup = {
  name: 'sampler',
  describe: `the socket sampler's cost: ${SCENARIO} --cycles ${CYCLES} on wine and wine-vm, looks back to back vs --sample-share ${SAMPLE_SHARE} vs none while cycling`,
  async run({ signal, onProgress, runs }): Promise<BenchRow[]> {
    onProgress({ kind: 'step', scope: 'bench', message: 'retrolab prepare (not timed)' });
    await prepareTargets(TARGETS, signal);
    const arms = new Map<string, Arm>();
    const arm = (target: string, share: number): Arm => {
      const key = `${target} ${share}`;
      let found = arms.get(key);
      if (!found)
        arms.set(key, (found = { cyclesS: new Samples(), cyclesSettleS: new Samples(), rate: new Samples(), looks: new Samples() }));
      return found;
    };
    const count = runs ?? RUNS;
    for (let i = 0; i < count; i++) {
      for (const share of SHARES) {
        const out = await mkdtemp(join(tmpdir(), 'retrolab-bench-sampler-'));
        try {
          onProgress({ kind: 'step', scope: 'bench', message: `${SCENARIO} --sample-share ${share} (${i + 1}/${count})` });
          const args = [
            'run',
            ...TARGETS.flatMap((t) => ['--target', t]),
            '--scenario',
            SCENARIO,
            '--cycles',
            String(CYCLES),
            '--sample-share',
            String(share),
            '--out',
            out,
          ];
          const code = await runRetrolab(args, signal);
          if (code !== 0) throw new Error(`retrolab ${args.join(' ')} exited ${code}: the timing of a run that failed says nothing`);
          for (const entry of (await latestResults(out, signal)).entries) {
            if (!entry.phases) throw new Error(`${entry.target} ${entry.scenario}: no phase times in results.json`);
            const cyclesRun = entry.counts?.cyclesRun ?? 0;
            const a = arm(entry.target, share);
            a.cyclesS.add(entry.phases.cycles / 1000);
            a.cyclesSettleS.add((entry.phases.cycles + entry.phases.settle) / 1000);
            a.rate.add(cyclesRun / (entry.phases.cycles / 1000));
            a.looks.add(looksWhileCycling(entry));
          }
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      }
    }
    const rows: BenchRow[] = [];
    for (const target of TARGETS) {
      const none = arm(target, 0).cyclesSettleS.median;
      for (const share of SHARES) {
        const a = arm(target, share);
        const how = share === 1 ? 'looks back to back' : share === 0 ? 'no looks while cycling' : `looks paced to share ${share}`;
        rows.push(
          row('sampler', target, `${SCENARIO} cycles + settle phases, ${how} (--sample-share ${share})`, 's', a.cyclesSettleS, {
            note: `cycles phase ${a.cyclesS.median.toFixed(1)} s (${a.rate.median.toFixed(2)} cycles/s), ${a.looks.median} looks while cycling (medians); ${share === 0 ? 'the reference' : `${((100 * (a.cyclesSettleS.median - none)) / none).toFixed(0)}% over no looks while cycling`}`,
          }),
        );
      }
    }
    return rows;
  },
};
