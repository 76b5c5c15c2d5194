import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeShardDirectories, mergeShardResults } from '../../src/results/results-merge.ts';
import { writeRunResults } from '../../src/results/results-writer.ts';
import type { RunResults } from '../../src/model/run-results.ts';
import { sampleRun } from '../fixtures/netstat/runs.ts';
import { retrolabInProcess } from '../support/cli-process.ts';

function shardOf(run: RunResults, index: number, count: number, keep: (i: number) => boolean, scenarios?: string[]): RunResults {
  const targets = [...new Set(run.entries.map((e) => e.target))];
  return {
    ...run,
    runId: `${run.runId}-s${index}`,
    shard: { index, count, targets, scenarios: scenarios ?? [...new Set(run.entries.map((e) => e.scenario))] },
    entries: run.entries.filter((_, i) => keep(i)),
  };
}

describe('results merge', () => {
  const whole = sampleRun();

  it('two shards merge back into the whole run, in the whole run order', () => {
    expect(whole.entries.length).toBeGreaterThan(2);
    const one = shardOf(whole, 1, 2, (i) => i % 2 === 0);
    const two = shardOf(whole, 2, 2, (i) => i % 2 === 1);
    const merged = mergeShardResults([
      { file: 'b/results.json', results: two },
      { file: 'a/results.json', results: one },
    ]);
    expect(merged.entries).toEqual(whole.entries);
    expect(merged.shards?.map((s) => `${s.index}/${s.count} ${s.file}`)).toEqual(['1/2 a/results.json', '2/2 b/results.json']);
  });

  it('refuses a missing shard, a shard given twice, different n, an entry in two shards, a run that is no shard', () => {
    const one = shardOf(whole, 1, 3, (i) => i === 0);
    const two = shardOf(whole, 2, 3, (i) => i === 1);
    expect(() =>
      mergeShardResults([
        { file: 'a', results: one },
        { file: 'b', results: two },
      ]),
    ).toThrow(/shard\(s\) 3\/3 missing/);
    expect(() =>
      mergeShardResults([
        { file: 'a', results: one },
        { file: 'a2', results: one },
      ]),
    ).toThrow(/shard 1\/3 is given twice: a and a2/);
    expect(() =>
      mergeShardResults([
        { file: 'a', results: one },
        { file: 'b', results: shardOf(whole, 2, 2, () => false) },
      ]),
    ).toThrow(/split the work differently/);
    const overlap = shardOf(whole, 2, 2, () => true);
    expect(() =>
      mergeShardResults([
        { file: 'a', results: shardOf(whole, 1, 2, (i) => i === 0) },
        { file: 'b', results: overlap },
      ]),
    ).toThrow(new RegExp(`${whole.entries[0]!.target} ${whole.entries[0]!.scenario} is in two shards: a and b`));
    expect(() => mergeShardResults([{ file: 'w', results: whole }])).toThrow(/w: not a shard/);
    const other = shardOf(whole, 2, 2, (i) => i % 2 === 1, ['dup-close']);
    expect(() =>
      mergeShardResults([
        { file: 'a', results: shardOf(whole, 1, 2, (i) => i % 2 === 0) },
        { file: 'b', results: other },
      ]),
    ).toThrow(/ran different matrices/);
  });

  it('reads shards from run folders and results folders (latest)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'retrolab-merge-'));
    try {
      await writeRunResults(
        shardOf(whole, 1, 2, (i) => i % 2 === 0),
        { dir: join(root, 'one') },
      );
      const written = await writeRunResults(
        shardOf(whole, 2, 2, (i) => i % 2 === 1),
        { dir: join(root, 'two') },
      );
      const merged = await mergeShardDirectories([join(root, 'one'), written.directory]);
      expect(merged.entries).toEqual(whole.entries);
      await expect(mergeShardDirectories([join(root, 'nowhere')])).rejects.toThrow(/does not exist/);
      await expect(mergeShardDirectories([root])).rejects.toThrow(/holds no results.json/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('retrolab results merge DIR... --out DIR writes the whole run (results.json with totals, junit.xml) and exits as the whole run would', async () => {
    const root = await mkdtemp(join(tmpdir(), 'retrolab-merge-cli-'));
    try {
      const first = await writeRunResults(
        shardOf(whole, 1, 2, (i) => i % 2 === 0),
        { dir: join(root, 'one') },
      );
      // An artifact of the first shard, at the path its entry would list (relative to its run folder).
      await mkdir(join(first.directory, 'artifacts', 'wine', 'dup-close'), { recursive: true });
      await writeFile(join(first.directory, 'artifacts', 'wine', 'dup-close', 'container.log'), 'from shard 1');
      await writeRunResults(
        shardOf(whole, 2, 2, (i) => i % 2 === 1),
        { dir: join(root, 'two') },
      );
      const out = join(root, 'merged');
      const result = await retrolabInProcess(['results', 'merge', join(root, 'one'), join(root, 'two'), '--out', out]);
      const merged = JSON.parse(await readFile(join(out, 'latest', 'results.json'), 'utf8')) as RunResults;
      expect(merged.entries).toEqual(whole.entries);
      expect(merged.totals?.entries).toBe(whole.entries.length);
      expect(merged.shards?.map((s) => s.index)).toEqual([1, 2]);
      expect(await readFile(join(out, 'latest', 'report.html'), 'utf8')).toContain(whole.entries[0]!.scenario);
      expect(await readFile(join(out, 'latest', 'artifacts', 'wine', 'dup-close', 'container.log'), 'utf8')).toBe('from shard 1');
      const junit = await readFile(join(out, 'latest', 'junit.xml'), 'utf8');
      expect(junit.match(/<testcase /g)?.length).toBeGreaterThanOrEqual(whole.entries.length);
      // The sample run holds an infra-error: the merged run exits 3, as the whole run would have.
      expect(whole.entries.map((e) => e.verdict)).toContain('infra-error');
      expect(result.code, result.stderr).toBe(3);
      expect(result.stdout).toMatch(/merged 2 shard\(s\)/);

      const missing = await retrolabInProcess(['results', 'merge', join(root, 'one'), '--out', out]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/shard\(s\) 2\/2 missing/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
