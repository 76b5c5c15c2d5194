import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run-cli.ts';
import type { ResultEntry, RunResults } from '../../src/model/run-results.ts';
import { readRunResults } from '../../src/results/results-writer.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `retrolab ARGS` as a user runs it: a separate node process through bin/retrolab.js. */
export function retrolabProcess(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'bin/retrolab.js'), ...args],
      { cwd: options.cwd ?? PROJECT_ROOT, env: { ...process.env, ...options.env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The same CLI in this process (runCli with captured streams): for the many small usage cases. */
export async function retrolabInProcess(args: readonly string[], options: { signal?: AbortSignal } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString('utf8')));
  const code = await runCli(args, { stdout, stderr, signal: options.signal ?? new AbortController().signal });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** The results.json of the run a results folder's `latest` points at (`--out DIR` or RETROLAB_RESULTS), checked against its schema. */
export function latestRunResults(resultsRoot: string): Promise<RunResults> {
  return readRunResults(join(resultsRoot, 'latest', 'results.json'));
}

/** The entry of `target` × `scenario`; a missing one fails with the entries the run has. */
export function entryOf(results: RunResults, target: string, scenario: string): ResultEntry {
  const entry = results.entries.find((e) => e.target === target && e.scenario === scenario);
  if (!entry)
    throw new Error(
      `results.json has no ${target}/${scenario}: ${JSON.stringify(results.entries.map((e) => `${e.target}/${e.scenario}`))}`,
    );
  return entry;
}
