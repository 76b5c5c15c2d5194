import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The project root, found from this file's place in src/. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where expensive build products are kept between runs (git-ignored). RETROLAB_CACHE moves it. */
export function cacheDir(): string {
  return process.env.RETROLAB_CACHE ?? join(PROJECT_ROOT, '.cache');
}

/** Where run results and artifacts go (git-ignored). RETROLAB_RESULTS moves it. */
export function resultsDir(): string {
  return process.env.RETROLAB_RESULTS ?? join(PROJECT_ROOT, 'results');
}
