import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';

async function statOrUndefined(path: string) {
  return stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new ConfigError(`${path}: cannot be read: ${error.message}`, { cause: error, context: { path } });
  });
}

async function writable(directory: string, flag: string, what: string): Promise<void> {
  try {
    await access(directory, constants.W_OK);
  } catch (error) {
    throw new ConfigError(
      `${flag}: ${directory} is not writable, so ${what} could not be written; choose another path or fix its permissions`,
      { cause: error, context: { path: directory } },
    );
  }
}

/**
 * Checks, before anything starts, every path a run will write: the results
 * folder (created when missing) and the baseline (an existing file to read,
 * or a new one whose folder exists and is writable). A bad path found after
 * a whole lab run would throw that run away.
 */
export async function checkOutputPaths(paths: { resultsRoot: string; baseline?: string }): Promise<void> {
  const root = resolve(paths.resultsRoot);
  const rootStat = await statOrUndefined(root);
  if (rootStat && !rootStat.isDirectory())
    throw new ConfigError(`--out: ${root} is a file, not a folder; results/<run-id>/ goes inside a folder`, { context: { path: root } });
  if (!rootStat) {
    try {
      await mkdir(root, { recursive: true });
    } catch (error) {
      throw new ConfigError(`--out: cannot create ${root}: ${(error as Error).message}`, { cause: error, context: { path: root } });
    }
  }
  await writable(root, '--out', 'the results');
  if (paths.baseline === undefined) return;
  const baseline = resolve(paths.baseline);
  const baselineStat = await statOrUndefined(baseline);
  if (baselineStat?.isDirectory())
    throw new ConfigError(`--baseline: ${baseline} is a folder; give a file (e.g. ${baseline}/baseline.json)`, {
      context: { path: baseline },
    });
  if (baselineStat) return;
  const folder = dirname(baseline);
  const folderStat = await statOrUndefined(folder);
  if (!folderStat?.isDirectory()) {
    throw new ConfigError(
      `--baseline: the folder ${folder} does not exist, so this run could not be stored there as the baseline; create it or choose another path`,
      {
        context: { path: baseline },
      },
    );
  }
  await writable(folder, '--baseline', 'the baseline');
}
