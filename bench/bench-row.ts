// The shape of a bench result and the helpers every row group uses.
import { loadavg } from 'node:os';
import type { DockerClient } from '../src/docker/docker-client.ts';
import type { ProgressSink } from '../src/report/progress.ts';

/** One measured figure: the median of its samples, each with the host's 1-minute load average when it was taken. */
export interface BenchRow {
  /** The row group that measured it (a module of bench/). */
  group: string;
  target: string;
  metric: string;
  /** The median of `samples`. */
  value: number;
  unit: string;
  samples: number[];
  /** os.loadavg()[0] as each sample was taken: timings under load are not comparable. */
  load1m: number[];
  /** The goal from issue 13 / 10, as text (`<= 1.5`), when the figure has one. */
  goal?: string;
  /** Whether the median meets the goal. */
  met?: boolean;
  /** How the figure was obtained, when the metric alone does not say. */
  note?: string;
  /** When its group started measuring (ISO time): rows of other groups are kept from earlier runs. */
  measuredAt?: string;
}

export interface BenchContext {
  signal: AbortSignal;
  onProgress: ProgressSink;
  docker: DockerClient;
  /** Samples per repeated measurement (`--runs N`; each group has its own default). */
  runs: number | undefined;
}

/** A row group: one module of bench/, registered in bench/groups.ts. */
export interface BenchGroup {
  name: string;
  /** One line for `npm run bench -- --list`. */
  describe: string;
  run(context: BenchContext): Promise<BenchRow[]>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number): number => Math.round(value * 1000) / 1000;

/** Collects the samples of one figure together with the load average at the moment of each. */
export class Samples {
  readonly values: number[] = [];
  readonly load1m: number[] = [];

  add(value: number): number {
    this.values.push(value);
    this.load1m.push(loadavg()[0]!);
    return value;
  }

  get median(): number {
    return median(this.values);
  }
}

export interface Goal {
  text: string;
  met: (value: number) => boolean;
}

export const atMost = (limit: number): Goal => ({ text: `<= ${limit}`, met: (v) => v <= limit });
export const atLeast = (limit: number): Goal => ({ text: `>= ${limit}`, met: (v) => v >= limit });

export function row(
  group: string,
  target: string,
  metric: string,
  unit: string,
  samples: Samples,
  extra: { goal?: Goal; note?: string } = {},
): BenchRow {
  const value = round(samples.median);
  return {
    group,
    target,
    metric,
    value,
    unit,
    samples: samples.values.map(round),
    load1m: samples.load1m.map((l) => Math.round(l * 100) / 100),
    ...(extra.goal ? { goal: extra.goal.text, met: extra.goal.met(value) } : {}),
    ...(extra.note ? { note: extra.note } : {}),
  };
}

/** A row of one sample taken now (a size, a figure derived from a single long run). */
export function single(
  group: string,
  target: string,
  metric: string,
  unit: string,
  value: number,
  extra: { goal?: Goal; note?: string } = {},
): BenchRow {
  const samples = new Samples();
  samples.add(value);
  return row(group, target, metric, unit, samples, extra);
}

export function seconds(fromMs: number, toMs = performance.now()): number {
  return (toMs - fromMs) / 1000;
}
