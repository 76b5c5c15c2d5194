import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RetrolabError } from '../errors.ts';

/**
 * Chart.js's UMD build from node_modules (a dependency of retrolab's), read
 * to be inlined into report.html: the page draws its charts offline.
 */
export async function readChartLibrary(options: { signal?: AbortSignal } = {}): Promise<string> {
  let file: string;
  try {
    // The package exports only its module entries; the UMD build sits beside them in dist/.
    file = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
    return await readFile(file, { encoding: 'utf8', signal: options.signal });
  } catch (error) {
    throw new RetrolabError('cannot read Chart.js (node_modules/chart.js/dist/chart.umd.min.js) for the report: run npm ci', {
      cause: error,
    });
  }
}
