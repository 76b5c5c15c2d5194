// What a clean guest per scenario adds to each scenario (issue 10 item 1): stopping the previous guest
// (its overlay or container deleted) and starting the next one up to a connected agent that passed the
// first-boot check, over the scenario unit's own calls (prepareTarget once, then startGuest/dispose).
import { prepareTarget, type StartedTarget } from '../src/targets/prepare-target.ts';
import { atMost, row, Samples, seconds, type BenchGroup, type BenchRow, type BenchContext } from './bench-row.ts';

const GUEST_RUNS = 5;

async function measure(target: 'wine' | 'wine-vm', { docker, signal, onProgress, runs }: BenchContext): Promise<BenchRow[]> {
  const prepared = await prepareTarget(target, { docker, signal, onProgress });
  const start = new Samples();
  const stop = new Samples();
  const perScenario = new Samples();
  const count = runs ?? GUEST_RUNS;
  let previous: StartedTarget | undefined;
  try {
    for (let i = 0; i <= count; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `${target} fresh guest ${i + 1}/${count + 1}` });
      const stopped = performance.now();
      if (previous) await previous[Symbol.asyncDispose]();
      previous = undefined;
      const started = performance.now();
      previous = await prepared.startGuest({ signal });
      const ready = performance.now();
      // The first start has no previous guest to stop: it is not a scenario's isolation cost.
      if (i > 0) {
        stop.add(seconds(stopped, started));
        start.add(seconds(started, ready));
        perScenario.add(seconds(stopped, ready));
      }
    }
  } finally {
    await previous?.[Symbol.asyncDispose]();
  }
  return [
    row('clean-guest', target, 'clean guest per scenario: stop the last + start the next', 's', perScenario, {
      ...(target === 'wine-vm' ? { goal: atMost(1.5) } : {}),
    }),
    row('clean-guest', target, 'start a guest to agent ready and first-boot check', 's', start),
    row('clean-guest', target, 'stop a guest and delete its overlay/container', 's', stop),
  ];
}

export const cleanGuest: BenchGroup = {
  name: 'clean-guest',
  describe: 'the per-scenario cost of a clean guest on wine-vm (goal <= 1.5 s) and on wine',
  async run(context) {
    return [...(await measure('wine-vm', context)), ...(await measure('wine', context))];
  },
};
