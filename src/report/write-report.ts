import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaselineChange, RunResults } from '../model/run-results.ts';
import { readRunResults } from '../results/results-writer.ts';
import { readChartLibrary } from './chart-library.ts';
import { buildReportHtml, type ArtifactContent } from './report-html.ts';

/** Screenshots larger than this are linked, not inlined (a QEMU screen PNG is tens of KiB). */
const MAX_INLINE_PNG_BYTES = 4 * 2 ** 20;
/** The tail of a text artifact shown on the page. */
const TEXT_TAIL_BYTES = 6000;

async function readTail(file: string, bytes: number): Promise<{ tail: string; truncated: boolean }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return { tail: buffer.toString('latin1'), truncated: size > bytes };
  } finally {
    await handle.close();
  }
}

/** Each artifact an entry lists, read for the page; one that cannot be read is only linked. */
async function readArtifacts(runDir: string, results: RunResults): Promise<Map<string, ArtifactContent>> {
  const contents = new Map<string, ArtifactContent>();
  for (const ref of results.entries.flatMap((entry) => entry.artifacts ?? [])) {
    const file = join(runDir, ref.path);
    try {
      if (ref.kind === 'screenshot') {
        if ((await stat(file)).size <= MAX_INLINE_PNG_BYTES)
          contents.set(ref.path, { kind: 'png', base64: (await readFile(file)).toString('base64') });
      } else if (ref.kind !== 'other') {
        contents.set(ref.path, { kind: 'text', ...(await readTail(file, TEXT_TAIL_BYTES)) });
      }
    } catch {
      // Listed but gone (a folder copied without its artifacts): the page links it and says nothing more.
    }
  }
  return contents;
}

export interface ReportBaseline {
  name: string;
  changes: readonly BaselineChange[];
  warnings: readonly string[];
}

/**
 * Writes `<runDir>/report.html` from its results.json (or the results given),
 * atomically; returns the file's path. The changes marked are `baseline`'s
 * when given, else those stored with the run (`lab --baseline`).
 */
export async function writeRunReport(
  runDir: string,
  options: { results?: RunResults; baseline?: ReportBaseline; signal?: AbortSignal } = {},
): Promise<string> {
  const results = options.results ?? (await readRunResults(join(runDir, 'results.json'), { signal: options.signal }));
  const stored: ReportBaseline | undefined =
    results.baselineChanges === undefined
      ? undefined
      : { name: results.baseline ?? 'the stored baseline', changes: results.baselineChanges, warnings: results.baselineWarnings ?? [] };
  const baseline = options.baseline ?? stored;
  const html = buildReportHtml({
    results,
    baseline,
    artifacts: await readArtifacts(runDir, results),
    chartLibrary: await readChartLibrary({ signal: options.signal }),
  });
  const file = join(runDir, 'report.html');
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, html, { encoding: 'utf8', signal: options.signal });
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
  return file;
}
