// wine-vm: a cold boot to agent ready against a warm start from the saved state (issue 13 item 3),
// and the anchors' way (a cold boot per scenario, as plain QEMU-in-Docker setups do) against ours as a ratio.
import { loadVmSpec } from '../src/config/load-vm-spec.ts';
import { coldBootQemuTarget, prepareQemuTarget } from '../src/targets/qemu-target.ts';
import { atMost, row, Samples, seconds, type BenchGroup } from './bench-row.ts';

const BOOT_RUNS = 3;
const WARM_RUNS = 5;

export const warmStart: BenchGroup = {
  name: 'warm-start',
  describe: 'wine-vm cold boot vs warm start (share, goal <= 3%), and a cold boot per scenario vs a warm restore (ratio)',
  async run({ docker, signal, onProgress, runs }) {
    const spec = await loadVmSpec('wine-vm', { signal });
    if (spec.kind !== 'qemu') throw new Error('vms/wine-vm/spec.json is not a QEMU spec');
    const cold = new Samples();
    const coldRuns = runs ?? BOOT_RUNS;
    for (let i = 0; i < coldRuns; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `wine-vm cold boot ${i + 1}/${coldRuns}` });
      cold.add((await coldBootQemuTarget(spec, { docker, signal, onProgress })).coldBootMs / 1000);
    }
    // The state the last cold boot saved: every warm start below restores it.
    const prepared = await prepareQemuTarget(spec, { docker, signal, onProgress });
    const warm = new Samples();
    const call = new Samples();
    const stop = new Samples();
    const warmRuns = runs ?? WARM_RUNS;
    for (let i = 0; i < warmRuns; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `wine-vm warm start ${i + 1}/${warmRuns}` });
      const started = performance.now();
      const handle = await prepared.startGuest({ signal, onWarmStart: (ms) => warm.add(ms / 1000) });
      call.add(seconds(started));
      await handle.agent.ping(Buffer.alloc(0), { signal });
      const stopping = performance.now();
      await handle[Symbol.asyncDispose]();
      stop.add(seconds(stopping));
    }
    const share = new Samples();
    share.add((100 * warm.median) / cold.median);
    // One scenario's guest, the anchors' way: a fresh container and a cold boot to agent ready. Ours: stop the last guest, restore the next.
    const anchors = new Samples();
    anchors.add(cold.median / (warm.median + stop.median));
    return [
      row('warm-start', 'wine-vm', 'cold boot: overlay + container + boot to agent ready', 's', cold),
      row('warm-start', 'wine-vm', 'warm start: overlay + container + restore to agent ready', 's', warm),
      row('warm-start', 'wine-vm', 'warm start as share of cold boot', '%', share, {
        goal: atMost(3),
        note: 'median warm / median cold',
      }),
      row('warm-start', 'wine-vm', 'prepared.startGuest() call, warm, end to end', 's', call),
      row('warm-start', 'wine-vm', 'stop a guest (container removed, overlay deleted)', 's', stop),
      row('warm-start', 'wine-vm', "anchors' way vs ours: cold boot per scenario / (warm restore + stop)", 'x', anchors, {
        note: 'how many times longer a guest per scenario costs when every scenario boots cold',
      }),
    ];
  },
};
