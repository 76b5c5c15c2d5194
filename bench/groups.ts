// The bench's row groups, in the order `npm run bench` runs them. A new group is a module of bench/
// exporting a BenchGroup, registered here with one line.
import type { BenchGroup } from './bench-row.ts';
import { agentLineWine } from './agent-line-wine.ts';
import { cleanGuest } from './clean-guest.ts';
import { imageSizes } from './image-sizes.ts';
import { openMatrix } from './open-matrix.ts';
import { sampler } from './sampler.ts';
import { scaleOut } from './scale-out.ts';
import { serialWineVm } from './serial-wine-vm.ts';
import { warmStart } from './warm-start.ts';

export const BENCH_GROUPS: readonly BenchGroup[] = [
  imageSizes,
  warmStart,
  cleanGuest,
  agentLineWine,
  serialWineVm,
  sampler,
  openMatrix,
  scaleOut,
];
