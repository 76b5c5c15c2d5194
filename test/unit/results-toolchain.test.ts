import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultEntryFrom } from '../../src/model/run-results.ts';
import { readRunResults, writeRunResults } from '../../src/results/results-writer.ts';
import { skippedVerdict } from '../../src/verdict/verdict.ts';
import { sampleRun } from '../fixtures/netstat/runs.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrolab-toolchain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the toolchain in results entries', () => {
  const toolchain = {
    kind: 'watcom' as const,
    identity: 'watcom shared toolchains sha256:c1bb Open Watcom C x86 32-bit Optimizing Compiler',
  };

  it('is carried from the run into the entry, and left out when nothing was built', () => {
    const verdict = skippedVerdict('no image', 'set RETROLAB_IMAGE_WIN95');
    expect(resultEntryFrom(verdict, { target: 'win95', scenario: 'dup-close', durationMs: 0, toolchain }).toolchain).toEqual(toolchain);
    expect(resultEntryFrom(verdict, { target: 'win95', scenario: 'dup-close', durationMs: 0 })).not.toHaveProperty('toolchain');
  });

  it('survives results.json, and a stored run without it (older runs) still reads', async () => {
    const run = sampleRun('20261201-050000-aaaa');
    run.entries[0] = { ...run.entries[0]!, toolchain };
    await writeRunResults(run, { dir });
    const back = await readRunResults(join(dir, run.runId, 'results.json'));
    expect(back.entries[0]?.toolchain).toEqual(toolchain);
    expect(back.entries[1]?.toolchain).toBeUndefined();
  });

  it('refuses a toolchain retrolab does not build with, naming the field', async () => {
    const run = sampleRun('20261201-050001-bbbb') as unknown as { entries: Record<string, unknown>[] };
    run.entries[0]!.toolchain = { kind: 'msvc', identity: 'cl 12' };
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify(run));
    await expect(readRunResults(file)).rejects.toThrow(/entries\.0\.toolchain\.kind/);
  });
});
