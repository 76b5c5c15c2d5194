import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestRunResults, retrolabProcess, type CliResult } from '../support/cli-process.ts';

/**
 * `retrolab run` as a user runs it: a real Wine target and a licensed one
 * that is not ready, the three result files, the summary, and the baseline
 * round trip (stored, unchanged, changed).
 */

let work: string;
let resultsRoot: string;

/** `retrolab ARGS` as a process, its results under resultsRoot. */
function retrolab(args: string[]): Promise<CliResult> {
  // A path that does not exist: win98 is "not configured" whatever retrolab.config.json says on this machine.
  return retrolabProcess(args, { env: { RETROLAB_RESULTS: resultsRoot, RETROLAB_IMAGE_WIN98: join(work, 'no-such-win98.qcow2') } });
}

const RUN_ARGS = [
  'run',
  '--target',
  'wine',
  '--target',
  'win98',
  '--scenario',
  'dup-close',
  '--scenario',
  'workaround-late-close',
  '--cycles',
  '3',
];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrolab-lab-cli-'));
  resultsRoot = join(work, 'results');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('retrolab run: result files, skipped licensed targets, baselines', () => {
  let baseline: string;

  it('runs wine for real, skips win98 with how to enable it, and writes results.json, junit.xml and latest', async () => {
    baseline = join(work, 'baseline.json');
    const first = await retrolab([...RUN_ARGS, '--baseline', baseline]);
    expect(first.code, first.stderr + first.stdout).toBe(0);

    const latest = await readlink(join(resultsRoot, 'latest'));
    const results = await latestRunResults(resultsRoot);
    expect(results.runId).toBe(latest);
    expect(results.entries.map((e) => `${e.target}/${e.scenario}/${e.verdict}`).sort()).toEqual([
      'win98/dup-close/skipped',
      'win98/workaround-late-close/skipped',
      'wine/dup-close/pass',
      'wine/workaround-late-close/pass',
    ]);
    const wineEntry = results.entries.find((e) => e.target === 'wine' && e.scenario === 'dup-close');
    expect(wineEntry?.netstat?.after?.raw).toMatch(/Proto\s+Local Address/);
    const skipped = results.entries.find((e) => e.target === 'win98');
    expect(skipped?.fix).toMatch(/RETROLAB_IMAGE_WIN98|retrolab image prepare/);

    const junit = await readFile(join(resultsRoot, latest, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites?[\s>]/);
    expect(junit.match(/<testcase /g)).toHaveLength(4);
    expect(junit.match(/<skipped/g)).toHaveLength(2);

    expect(first.stdout).toMatch(/wine\s+dup-close\s+PASS/);
    expect(first.stdout).toMatch(/skipped win98: .*\n\s+to enable: /);
    expect(first.stdout).toContain(`stored this run as the baseline ${baseline}`);
    expect(JSON.parse(await readFile(baseline, 'utf8'))).toMatchObject({ runId: latest });
  });

  it('reports no change against a baseline of the same behaviour', async () => {
    const second = await retrolab([...RUN_ARGS, '--baseline', baseline]);
    expect(second.code, second.stderr + second.stdout).toBe(0);
    expect(second.stdout).toContain(`no change against ${baseline}`);
  });

  it('labels each change against a baseline that differs (here improvements: exit 0, and the last line says so)', async () => {
    // A baseline in which the plain cycle leaked on wine, as a Win98 run would have.
    const stored = JSON.parse(await readFile(baseline, 'utf8')) as {
      entries: { target: string; scenario: string; verdict: string; observed?: string }[];
    };
    const leaky = join(work, 'leaky-baseline.json');
    for (const entry of stored.entries)
      if (entry.target === 'wine' && entry.scenario === 'dup-close') Object.assign(entry, { verdict: 'fail', observed: 'leak' });
    await writeFile(leaky, JSON.stringify(stored));
    const third = await retrolab([...RUN_ARGS, '--baseline', leaky]);
    // Better than the baseline: reported as an improvement, and no reason to fail.
    expect(third.code, third.stderr + third.stdout).toBe(0);
    expect(third.stdout).toMatch(/change\(s\) against .*leaky-baseline\.json \(0 regression\(s\), 2 improvement\(s\)\)/);
    expect(third.stdout).toContain('improvement: wine dup-close: verdict fail -> pass');
    expect(third.stdout).toContain('improvement: wine dup-close: observed leak -> clean');
    expect(third.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^exit 0: 2 passed, 2 skipped .*no regression against the baseline \(2 improvement\(s\)\)$/,
    );

    expect(third.stdout).not.toMatch(/wine workaround-late-close: verdict/);
  });
});
