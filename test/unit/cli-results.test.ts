import { mkdtemp, readFile, readlink, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runResults, type RunResults } from '../../src/model/run-results.ts';
import { sampleRun } from '../fixtures/netstat/runs.ts';
import { retrolabProcess } from '../support/cli-process.ts';

/**
 * lab/run as a process with no engine to reach (DOCKER_HOST names a socket
 * nobody listens on): the run stops at once, and must still write its results,
 * move latest, compare with a crafted baseline and say why it exits as it does.
 */
let work: string;
const env = () => ({ DOCKER_HOST: `unix://${join(work, 'no-engine.sock')}` });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrolab-cli-results-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function latest(out: string): Promise<{ runId: string; results: RunResults; junit: string }> {
  const runId = await readlink(join(out, 'latest'));
  const results = runResults.parse(JSON.parse(await readFile(join(out, runId, 'results.json'), 'utf8')));
  return { runId, results, junit: await readFile(join(out, runId, 'junit.xml'), 'utf8') };
}

describe('results are always written', () => {
  it('a run that cannot reach its engine writes infra-error entries naming the cause, moves latest, exits 3 and says why', async () => {
    const out = join(work, 'stopped');
    const first = await retrolabProcess(
      ['run', '--target', 'wine', '--scenario', 'dup-close,leak-control', '--cycles', '3', '--out', out],
      { env: env() },
    );
    expect(first.code, first.stderr).toBe(3);
    const { runId, results, junit } = await latest(out);
    expect(results.stoppedBy).toMatch(/No Docker engine answers at unix:\/\/.*no-engine\.sock/);
    expect(results.entries.map((e) => `${e.target}/${e.scenario}/${e.verdict}`)).toEqual([
      'wine/dup-close/infra-error',
      'wine/leak-control/infra-error',
    ]);
    expect(results.entries[0]!.reason).toMatch(/^not run: the run stopped before it: No Docker engine answers/);
    expect(results.totals).toEqual({ entries: 2, pass: 0, fail: 0, infraError: 2, skipped: 0 });
    expect(results.options).toMatchObject({ targets: ['wine'], scenarios: ['dup-close', 'leak-control'], cycles: 3, out });
    expect(results.settings).toMatchObject({ cycles: 3, scenarios: ['dup-close', 'leak-control'], patch: null });
    expect(results.retrolab?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(results.retrolab?.commit).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    expect(junit.match(/<error /g)).toHaveLength(2);
    expect(first.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^exit 3: 2 infrastructure error\(s\) \(wine dup-close, wine leak-control\); the run stopped: No Docker engine/,
    );

    // A second run moves latest even though it stopped too.
    await retrolabProcess(['run', '--target', 'wine', '--scenario', 'dup-close', '--out', out], { env: env() });
    expect((await latest(out)).runId).not.toBe(runId);
  });

  it('a --baseline whose folder does not exist is refused before anything starts (exit 2, nothing written)', async () => {
    const out = join(work, 'refused');
    const bad = await retrolabProcess(
      ['run', '--target', 'wine', '--scenario', 'dup-close', '--out', out, '--baseline', join(work, 'no-such-dir', 'b.json')],
      { env: env() },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--baseline: the folder .*no-such-dir does not exist/);
    await expect(readlink(join(out, 'latest'))).rejects.toThrow(/ENOENT/);
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    const outIsFile = await retrolabProcess(['run', '--target', 'wine', '--scenario', 'dup-close', '--out', file], { env: env() });
    expect(outIsFile.code).toBe(2);
    expect(outIsFile.stderr).toMatch(/--out: .*a-file is a file, not a folder/);
  });
});

describe('baselines explain themselves', () => {
  it('against a crafted baseline: settings warning first, each change labelled, baselineChanges and a failing junit baseline testcase', async () => {
    const out = join(work, 'compared');
    await mkdir(out, { recursive: true });
    const crafted = sampleRun();
    // The baseline: wine dup-close passed with 120 cycles; the run will ask for 5 and (no engine) decide nothing.
    crafted.entries = crafted.entries.filter((e) => e.target === 'wine' && e.scenario === 'dup-close');
    crafted.settings = {
      targets: ['wine'],
      scenarios: ['dup-close', 'leak-control'],
      cycles: 120,
      patch: null,
      toolchain: { asked: null, used: ['mingw'] },
      reuseGuest: false,
    };
    const baselineFile = join(work, 'crafted-baseline.json');
    await writeFile(baselineFile, JSON.stringify(crafted));
    const run = await retrolabProcess(
      ['run', '--target', 'wine', '--scenario', 'dup-close', '--cycles', '5', '--out', out, '--baseline', baselineFile],
      { env: env() },
    );
    expect(run.code, run.stderr).toBe(3);
    const warningAt = run.stdout.indexOf('warning: not comparable with');
    const changesAt = run.stdout.indexOf('change(s) against');
    expect(warningAt).toBeGreaterThan(-1);
    expect(changesAt).toBeGreaterThan(warningAt);
    expect(run.stdout).toContain('cycles differ: --cycles 5 now, 120 in the baseline');
    expect(run.stdout).toContain('scenarios differ: only in the baseline: leak-control');
    expect(run.stdout).toContain('regression: wine dup-close: verdict pass -> infra-error');
    // The subset run left leak-control out: not a change without --baseline-strict.
    expect(run.stdout).not.toMatch(/leak-control: in the baseline/);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^exit 3: .*; 1 regression\(s\) against the baseline \(wine dup-close: verdict pass -> infra-error\)$/,
    );
    const { results, junit } = await latest(out);
    expect(results.baselineChanges).toMatchObject([
      { target: 'wine', scenario: 'dup-close', kind: 'verdict', label: 'regression', from: 'pass', to: 'infra-error' },
    ]);
    expect(results.baselineWarnings?.[0]).toMatch(/^cycles differ/);
    expect(junit).toMatch(/<testsuite name="baseline" tests="1" failures="1"/);
    expect(junit).toMatch(
      /<testcase name="baseline" classname="retrolab\.wine\.dup-close" time="0\.000">\n\s+<failure message="regression: wine dup-close: verdict pass -&gt; infra-error" type="regression">/,
    );
  });
});

describe('the exit code and the line that says why', () => {
  it('a regression alone exits 1; an improvement alone exits 0; skips exit 1 only with --fail-on-skip', async () => {
    const { runOutcome } = await import('../../src/cli/run-outcome.ts');
    const run = sampleRun();
    const regression = {
      target: 'wine',
      scenario: 'dup-close',
      kind: 'verdict' as const,
      label: 'regression' as const,
      from: 'pass',
      to: 'fail',
      text: 'regression: wine dup-close: verdict pass -> fail',
    };
    const passing = { ...run, entries: run.entries.filter((e) => e.verdict === 'pass' || e.verdict === 'skipped'), baseline: '/b.json' };
    expect(runOutcome({ ...passing, baselineChanges: [regression] }, { failOnSkip: false })).toEqual({
      code: 1,
      line: 'exit 1: 1 regression(s) against the baseline (wine dup-close: verdict pass -> fail)',
    });
    expect(
      runOutcome({ ...passing, baselineChanges: [{ ...regression, label: 'improvement', text: 'improvement: x' }] }, { failOnSkip: false })
        .code,
    ).toBe(0);
    const skipped = { ...passing, entries: [...passing.entries, { ...passing.entries[0]!, target: 'win98', verdict: 'skipped' as const }] };
    expect(runOutcome(skipped, { failOnSkip: false }).line).toMatch(
      /^exit 0: \d+ passed, \d+ skipped \(not a failure without --fail-on-skip\)/,
    );
    const failOnSkip = runOutcome(skipped, { failOnSkip: true });
    expect(failOnSkip.code).toBe(1);
    expect(failOnSkip.line).toMatch(/^exit 1: \d+ skipped scenario\(s\) with --fail-on-skip \(.*win98 dup-close/);
    expect(runOutcome({ ...skipped, interrupted: true }, { failOnSkip: true }).code).toBe(130);
  });
});
