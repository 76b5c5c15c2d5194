import { lstat, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { formatJunit, xml } from '../../src/results/junit-xml.ts';
import { readRunResults, writeRunResults } from '../../src/results/results-writer.ts';
import { makeRunId, type RunResults } from '../../src/model/run-results.ts';
import { formatSummaryTable } from '../../src/results/summary-table.ts';
import { sampleRun } from '../fixtures/netstat/runs.ts';

/**
 * A strict little well-formedness check (no XML parser is among the
 * dependencies): every tag closes in order, attributes are quoted, and no raw
 * `<` or stray `&` is left in text or attribute values.
 */
function assertWellFormedXml(text: string): { name: string; attributes: Record<string, string> }[] {
  const body = text.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, '');
  const stack: string[] = [];
  const elements: { name: string; attributes: Record<string, string> }[] = [];
  const tag = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let match = tag.exec(body); match !== null; match = tag.exec(body)) {
    const between = body.slice(last, match.index);
    if (/[<>]|&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(between)) throw new Error(`bad text before ${match[0]}: ${between}`);
    last = tag.lastIndex;
    const [, closing, name = '', attributeText = '', selfClosing] = match;
    if (closing === '/') {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const [, key = '', value = ''] of attributeText.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(value)) throw new Error(`bad attribute ${key}="${value}"`);
      attributes[key] = value;
    }
    elements.push({ name, attributes });
    if (selfClosing !== '/') stack.push(name);
  }
  if (body.slice(last).trim() !== '') throw new Error(`text after the root: ${body.slice(last)}`);
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  return elements;
}

describe('JUnit XML', () => {
  it('is checked by a checker that does reject broken XML', () => {
    expect(() => assertWellFormedXml('<a>&</a>')).toThrow(/bad text/);
    expect(() => assertWellFormedXml('<a><b></a></b>')).toThrow(/wrong element/);
    expect(() => assertWellFormedXml('<a x="1<2"></a>')).toThrow();
    expect(() => assertWellFormedXml('<a>')).toThrow(/unclosed/);
  });

  it('has a testsuite per target and a testcase per scenario with the right outcome element', () => {
    const elements = assertWellFormedXml(formatJunit(sampleRun()));
    expect(elements[0]).toMatchObject({ name: 'testsuites', attributes: { tests: '5', failures: '0', errors: '1', skipped: '1' } });
    const suites = elements.filter((element) => element.name === 'testsuite').map((element) => element.attributes);
    expect(suites.map((suite) => [suite.name, suite.tests, suite.errors, suite.skipped])).toEqual([
      ['wine', '2', '0', '0'],
      ['win95', '1', '0', '0'],
      ['win98', '1', '0', '1'],
      ['wine-vm', '1', '1', '0'],
    ]);
    const cases = elements.filter((element) => element.name === 'testcase').map((element) => element.attributes);
    expect(cases[2]).toEqual({ name: 'dup-close', classname: 'retrolab.win95', time: '95.000' });
    expect(elements.filter((element) => element.name === 'skipped')).toHaveLength(1);
    expect(elements.filter((element) => element.name === 'error')).toHaveLength(1);
  });

  it("puts a fail's evidence into <failure>", () => {
    const run = sampleRun();
    const entry = run.entries[2]!;
    run.entries[2] = { ...entry, verdict: 'fail', reason: 'expected clean but observed leak' };
    const text = formatJunit(run);
    assertWellFormedXml(text);
    expect(text).toMatch(/<failure message="expected clean but observed leak" type="fail">expected clean but observed leak\n\n {2}Proto/);
    expect(text).toContain('10.0.2.15:1030         10.0.2.2:7000          CLOSE_WAIT');
  });

  it('escapes markup, quotes and control bytes in names, reasons and evidence', () => {
    const run = sampleRun();
    run.entries[3] = {
      ...run.entries[3]!,
      scenario: 'a<b>&"c\'',
      reason: 'line1\nline2 <not a tag> & \u0007bell \u0000nul',
      fix: ']]> fix',
    };
    const text = formatJunit(run);
    const elements = assertWellFormedXml(text);
    expect(elements.find((element) => element.name === 'testcase' && element.attributes.name?.startsWith('a&lt;'))?.attributes.name).toBe(
      'a&lt;b&gt;&amp;&quot;c&apos;',
    );
    expect(text).toContain('message="line1&#10;line2 &lt;not a tag&gt; &amp; bell nul"');
    expect(['\u0000', '\u0007'].some((control) => text.includes(control))).toBe(false);
    expect(xml('\uD800 lone surrogate')).toBe(' lone surrogate');
  });
});

describe('summary table', () => {
  it('shows a row per target and scenario with status, leaked/opened and a shortened reason', () => {
    const table = formatSummaryTable(sampleRun(), { width: 100 });
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^target\s+scenario\s+status\s+leaked\s+reason$/);
    expect(lines[2]).toMatch(/^wine\s+dup-close\s+PASS\s+0\/120\s+clean as predicted/);
    expect(lines[3]).toMatch(/^wine\s+leak-control\s+PASS\s+40\/40\s+leak as predicted/);
    expect(lines[4]).toMatch(/^win95\s+dup-close\s+PASS\s+100\/100\s+leak as predicted/);
    expect(lines[5]).toMatch(/^win98\s+dup-close\s+SKIP\s+-\s+no disk image configured for win98$/);
    expect(lines[6]).toMatch(/^wine-vm\s+dup-close\s+ERROR\s+-\s+the agent did not answer/);
    expect(lines.slice(0, 7).every((line) => line.length <= 100)).toBe(true);
    expect(lines[4]).toMatch(/…$/);
    expect(lines.at(-1)).toBe('5 scenarios: 3 passed, 0 failed, 1 infrastructure errors, 1 skipped (run 20261125-120000-abcd)');
  });

  it('shows a target skipped for one reason once, however many scenarios it had, and keeps scenario-specific skips apart', () => {
    const run = sampleRun();
    const [, , , win98] = run.entries;
    if (win98 === undefined) throw new Error('the sample run lost its win98 entry');
    const ws2 = {
      ...win98,
      target: 'win95',
      scenario: 'dup-close-many-apps',
      reason: 'dup-close-many-apps runs dupclose, which needs ws2_32.dll',
    };
    run.entries.push({ ...win98, scenario: 'leak-control' }, { ...win98, scenario: 'close-order' }, ws2, {
      ...ws2,
      scenario: 'leak-control',
      reason: 'leak-control runs dupclose, which needs ws2_32.dll',
    });
    const lines = formatSummaryTable(run, { width: 120 }).split('\n');
    const win98Rows = lines.filter((line) => line.startsWith('win98'));
    expect(win98Rows).toHaveLength(1);
    expect(win98Rows[0]).toMatch(/^win98\s+\(3 scenarios\)\s+SKIP\s+-\s+no disk image configured for win98$/);
    expect(lines.filter((line) => /^win95\s+\S+\s+SKIP/.test(line))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/^9 scenarios: 3 passed, 0 failed, 1 infrastructure errors, 5 skipped/);
  });
});

describe('writeRunResults', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'retrolab-results-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes results.json and junit.xml and points latest at the run', async () => {
    const run = sampleRun();
    const written = await writeRunResults(run, { dir });
    expect(written.directory).toBe(join(dir, run.runId));
    expect(await readlink(join(dir, 'latest'))).toBe(run.runId);
    expect(await readRunResults(join(dir, 'latest', 'results.json'))).toEqual(run);
    assertWellFormedXml(await readFile(written.junitFile, 'utf8'));
    const stored = JSON.parse(await readFile(written.resultsFile, 'utf8')) as RunResults;
    expect(stored.entries[2]?.netstat?.after.raw).toContain('CLOSE_WAIT');
    expect(stored.entries[2]?.settings).toEqual({ maxConnections: 100 });
    expect(stored.entries[2]?.evidence?.counts.after.CLOSE_WAIT).toBe(100);
  });

  it('moves latest to a newer run and leaves no temporary files', async () => {
    await writeRunResults(sampleRun('20261125-120000-aaaa'), { dir });
    await writeRunResults(sampleRun('20261125-130000-bbbb'), { dir });
    expect(await readlink(join(dir, 'latest'))).toBe('20261125-130000-bbbb');
    expect((await lstat(join(dir, 'latest'))).isSymbolicLink()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['20261125-120000-aaaa', '20261125-130000-bbbb', 'latest']);
    expect((await readdir(join(dir, '20261125-130000-bbbb'))).sort()).toEqual(['junit.xml', 'results.json']);
  });

  it('refuses results that break their schema', async () => {
    await expect(writeRunResults({ ...sampleRun(), runId: '../escape' }, { dir })).rejects.toThrow(/runId: must be a plain folder name/);
  });

  it('reports every problem of a stored run as path: message', async () => {
    const file = join(dir, 'baseline.json');
    const broken = sampleRun() as unknown as { schemaVersion: number; entries: { verdict: string; durationMs: unknown }[] };
    broken.schemaVersion = 9;
    broken.entries[0]!.verdict = 'passed';
    broken.entries[1]!.durationMs = 'slow';
    await writeFile(file, JSON.stringify(broken));
    const error = await readRunResults(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/baseline\.json: schemaVersion: /);
    expect(lines[1]).toMatch(/baseline\.json: entries\.0\.verdict: /);
    expect(lines[2]).toMatch(/baseline\.json: entries\.1\.durationMs: /);
  });

  it('makes sortable run ids', () => {
    expect(makeRunId(new Date('2026-11-25T14:30:05.123Z'))).toMatch(/^20261125-143005-[0-9a-f]{4}$/);
  });
});
