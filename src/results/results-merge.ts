import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { readRunResults } from './results-writer.ts';
import { makeRunId, RESULTS_SCHEMA_VERSION, type ResultEntry, type RunResults } from '../model/run-results.ts';

/** A shard's results.json from what the user named: the file, its run folder, or a results folder with `latest`. */
export async function findResultsFile(path: string): Promise<string> {
  const full = resolve(path);
  const info = await stat(full).catch(() => undefined);
  if (!info) throw new ConfigError(`results merge: ${path} does not exist`);
  if (info.isFile()) return full;
  for (const candidate of [join(full, 'results.json'), join(full, 'latest', 'results.json')]) {
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
  }
  throw new ConfigError(`results merge: ${path} holds no results.json (nor latest/results.json); name a run folder, its results.json, or a results folder`);
}

function order(entry: ResultEntry, targets: readonly string[], scenarios: readonly string[]): [number, number] {
  const t = targets.indexOf(entry.target);
  const s = scenarios.indexOf(entry.scenario);
  return [t === -1 ? targets.length : t, s === -1 ? scenarios.length : s];
}

/**
 * Joins the results of `--shard i/n` runs into the results of the whole
 * matrix. Refuses what would give a wrong whole: a shard missing or given
 * twice, shards of different n or of different matrices, an entry in two
 * shards. Entries come out in the order a whole run writes them (its targets,
 * then its scenarios, as the shards record them).
 */
export function mergeShardResults(shards: readonly { file: string; results: RunResults }[], now: Date = new Date()): RunResults {
  if (shards.length === 0) throw new ConfigError('results merge: name at least one shard');
  const problems: string[] = [];
  const counts = new Set(shards.map((s) => s.results.shard?.count ?? 1));
  for (const s of shards) if (!s.results.shard) problems.push(`${s.file}: not a shard (run it with --shard i/n)`);
  if (counts.size > 1) problems.push(`the shards split the work differently (n = ${[...counts].join(', ')})`);
  const matrices = new Set(shards.map((s) => (s.results.shard ? `--target ${s.results.shard.targets.join(',')} --scenario ${s.results.shard.scenarios.join(',')}` : '')));
  if (matrices.size > 1) problems.push(`the shards ran different matrices: ${[...matrices].filter(Boolean).join('; ')}`);
  const count = Math.max(...counts);
  const byIndex = new Map<number, string>();
  for (const s of shards) {
    const index = s.results.shard?.index;
    if (index === undefined) continue;
    const first = byIndex.get(index);
    if (first) problems.push(`shard ${index}/${count} is given twice: ${first} and ${s.file}`);
    byIndex.set(index, s.file);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (counts.size === 1 && missing.length > 0) problems.push(`shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing`);
  const seen = new Map<string, string>();
  for (const s of shards) {
    for (const entry of s.results.entries) {
      const key = `${entry.target} ${entry.scenario}`;
      const first = seen.get(key);
      if (first && first !== s.file) problems.push(`${key} is in two shards: ${first} and ${s.file}`);
      seen.set(key, s.file);
    }
  }
  if (problems.length > 0) throw new ConfigError(`results merge:\n  ${problems.join('\n  ')}`);

  const targets = shards[0]!.results.shard!.targets;
  const scenarios = shards[0]!.results.shard!.scenarios;
  const entries = shards
    .flatMap((s) => s.results.entries)
    .sort((a, b) => {
      const [ta, sa] = order(a, targets, scenarios);
      const [tb, sb] = order(b, targets, scenarios);
      return ta - tb || sa - sb || a.target.localeCompare(b.target) || a.scenario.localeCompare(b.scenario);
    });
  const first = shards[0]!.results;
  const hosts = new Map(shards.flatMap((s) => s.results.hosts ?? []).map((h) => [h.url, h]));
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: makeRunId(now),
    startedAt: shards.map((s) => s.results.startedAt).sort()[0]!,
    finishedAt: shards.map((s) => s.results.finishedAt).sort().at(-1)!,
    host: first.host,
    ...(first.baseline !== undefined ? { baseline: first.baseline } : {}),
    shards: shards
      .map((s) => ({ runId: s.results.runId, index: s.results.shard!.index, count: s.results.shard!.count, file: s.file }))
      .sort((a, b) => a.index - b.index),
    ...(hosts.size > 0 ? { hosts: [...hosts.values()] } : {}),
    entries,
  };
}

/** Reads every shard the user named and merges them. */
export async function mergeShardDirectories(paths: readonly string[], options: { signal?: AbortSignal } = {}): Promise<RunResults> {
  const shards = [];
  for (const path of paths) {
    const file = await findResultsFile(path);
    shards.push({ file, results: await readRunResults(file, options) });
  }
  return mergeShardResults(shards);
}
