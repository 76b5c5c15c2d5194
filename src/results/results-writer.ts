import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RetrolabError } from '../errors.ts';
import { resultsDir } from '../util/paths.ts';
import { formatJunit } from './junit-xml.ts';
import { parseWithSchema, readJsonFile } from '../config/json-file.ts';
import { runResults, type RunResults } from '../model/run-results.ts';

export interface WrittenResults {
  directory: string;
  resultsFile: string;
  junitFile: string;
  latestLink: string;
}

/**
 * Writes `<dir>/<run-id>/results.json` and `junit.xml`, then points
 * `<dir>/latest` at the run. Each file is written under a temporary name and
 * renamed, and `latest` is replaced by renaming a new link over it, so a
 * reader never sees half a file or a missing link.
 */
export async function writeRunResults(
  results: RunResults,
  options: { dir?: string; signal?: AbortSignal } = {},
): Promise<WrittenResults> {
  const checked = runResults.safeParse(results);
  if (!checked.success) {
    throw new RetrolabError(`run ${results.runId}: results do not match their schema: ${checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const root = options.dir ?? resultsDir();
  const directory = join(root, results.runId);
  await mkdir(directory, { recursive: true });
  const resultsFile = join(directory, 'results.json');
  const junitFile = join(directory, 'junit.xml');
  await writeAtomically(resultsFile, `${JSON.stringify(checked.data, null, 2)}\n`, options.signal);
  await writeAtomically(junitFile, formatJunit(checked.data), options.signal);
  const latestLink = join(root, 'latest');
  const temporary = join(root, `.latest-${randomBytes(4).toString('hex')}`);
  await symlink(results.runId, temporary, 'dir');
  try {
    await rename(temporary, latestLink);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new RetrolabError(`cannot point ${latestLink} at ${results.runId}`, { cause: error, context: { latestLink } });
  }
  return { directory, resultsFile, junitFile, latestLink };
}

async function writeAtomically(file: string, text: string, signal?: AbortSignal): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { encoding: 'utf8', signal });
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Reads a stored run (e.g. a `--baseline` file); every problem is reported at once as `path: message`. */
export async function readRunResults(file: string, options: { signal?: AbortSignal } = {}): Promise<RunResults> {
  const json = await readJsonFile(file, { what: 'the stored run', signal: options.signal });
  return parseWithSchema(runResults, json, file);
}
