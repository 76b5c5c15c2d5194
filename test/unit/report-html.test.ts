import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { escapeHtml, inlineScript, jsonForScript } from '../../src/report/html.ts';
import { REPORT_CSS } from '../../src/report/report-css.ts';
import { buildReportHtml, chartDataOf } from '../../src/report/report-html.ts';
import { VERDICT_STYLES } from '../../src/report/verdict-style.ts';
import { writeRunReport } from '../../src/report/write-report.ts';
import { craftedBaseline, craftedRun, HOSTILE, writeCraftedRun } from '../support/crafted-run.ts';

const LIBRARY = '/* chart library stand-in */';
const build = (results = craftedRun()) =>
  buildReportHtml({
    results,
    baseline: { name: 'base', changes: results.baselineChanges ?? [], warnings: [] },
    artifacts: new Map(),
    chartLibrary: LIBRARY,
  });

/** The matrix cells as the page has them: verdict class, data attributes and the text shown. */
function cells(html: string) {
  return [
    ...html.matchAll(/<td class="cell v-([a-z-]+)" data-target="([^"]*)" data-scenario="([^"]*)" data-verdict="([^"]*)">(.*?)<\/td>/g),
  ].map((m) => ({ cls: m[1], target: m[2], scenario: m[3], verdict: m[4], inner: m[5]! }));
}

describe('report escaping', () => {
  it('escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('JSON for a script block cannot close it, and reads back the same', () => {
    const value = { text: '</script><script>alert(1)</script>', sep: '\u2028', amp: 'a&b' };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(json)).toEqual(value);
    expect(inlineScript('var s = "</script>"; // <!--')).toBe('var s = "<\\/script>"; // <\\!--');
  });

  it('guest text (NETSTAT rows, reasons, serial tails) shows as text: no element of it reaches the page', async () => {
    const root = await mkdtemp(join(tmpdir(), 'retrolab-report-'));
    try {
      const file = await writeRunReport(await writeCraftedRun(root));
      const html = await readFile(file, 'utf8');
      // The hostile text appears in the NETSTAT, the reason and the serial tail, escaped each time.
      expect(html).not.toContain(HOSTILE);
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('<script>window.__pwned');
      expect(html.split(escapeHtml(HOSTILE)).length - 1).toBeGreaterThanOrEqual(3);
      // The only script elements are the page's own three: data, Chart.js, the drawing script.
      expect(html.match(/<script\b/g)).toHaveLength(3);
      // The only image is the inlined screenshot.
      expect(html.match(/<img\b/g)).toHaveLength(1);
      expect(html).toMatch(/<img alt="screenshot artifacts\/win98\/leak-after-exit\/frozen.png" src="data:image\/png;base64,iVBORw0KGgo/);
      // Nothing is fetched: no external URL, and the page's policy forbids any.
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect(html).toContain(`default-src 'none'`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('report matrix', () => {
  it('has one cell per entry, coloured and labelled by its verdict, with expected and observed', () => {
    const results = craftedRun();
    const html = build(results);
    const found = cells(html);
    expect(found).toHaveLength(results.entries.length);
    for (const entry of results.entries) {
      const cell = found.find((c) => c.target === entry.target && c.scenario === entry.scenario);
      expect(cell, `${entry.target} ${entry.scenario}`).toBeDefined();
      expect(cell!.cls).toBe(entry.verdict);
      expect(cell!.verdict).toBe(entry.verdict);
      expect(cell!.inner).toContain(VERDICT_STYLES[entry.verdict].label);
      expect(cell!.inner).toContain(`expected ${entry.expected ?? '—'} · observed ${entry.observed ?? '—'}`);
      if (entry.counts) expect(cell!.inner).toContain(`${entry.counts.leaked}/${entry.counts.connectionsOpened} held`);
    }
    for (const verdict of ['pass', 'fail', 'infra-error', 'skipped'] as const) {
      const count = results.entries.filter((e) => e.verdict === verdict).length;
      expect(html).toContain(`data-total="${verdict}">${VERDICT_STYLES[verdict].label} ${count}</span>`);
    }
  });

  it('every verdict has its own colour, word, symbol and (but pass) fill pattern, all in the style sheet', () => {
    const styles = Object.values(VERDICT_STYLES);
    for (const key of ['color', 'label', 'symbol', 'pattern'] as const) expect(new Set(styles.map((s) => s[key])).size).toBe(styles.length);
    for (const [verdict, style] of Object.entries(VERDICT_STYLES))
      expect(REPORT_CSS).toContain(`.v-${verdict}{background-color:${style.color};background-image:${style.pattern};`);
    expect(REPORT_CSS).toContain('print-color-adjust:exact');
  });

  it('marks the baseline changes on their cells and entries, and only there', () => {
    const results = craftedRun();
    const html = build(results);
    const kinds = results.baselineChanges!.map((c) => `${c.kind}:${c.label}`).sort();
    expect(kinds).toEqual(['leak-rate:regression', 'observed:regression', 'verdict:regression']);
    const changed = cells(html).filter((c) => c.inner.includes('class="change'));
    expect(changed.map((c) => `${c.target} ${c.scenario}`)).toEqual(['win98 dup-close']);
    expect(changed[0]!.inner.match(/data-change="([a-z-]+)"/g)).toHaveLength(3);
    expect(changed[0]!.inner).toContain('verdict pass → fail');
    expect(html).toContain('leak-rate 0 % → 81 %');
    // Without a baseline nothing is marked.
    const plain = buildReportHtml({ results: craftedBaseline(), artifacts: new Map(), chartLibrary: LIBRARY });
    expect(plain).not.toContain('class="change c-');
    expect(plain).not.toContain('id="baseline"');
  });

  it('highlights exactly the NETSTAT rows the evidence quotes', () => {
    const results = craftedRun();
    const html = build(results);
    const after = /<pre class="netstat" data-table="after">([\s\S]*?)<\/pre>/.exec(html)![1]!;
    const highlighted = [...after.matchAll(/<span class="ev">([^<]*)<\/span>/g)].map((m) => m[1]);
    expect(highlighted).toEqual([
      '  TCP    10.0.2.15:1030        10.0.2.2:7000          CLOSE_WAIT',
      '  TCP    10.0.2.15:1031        10.0.2.2:7000          CLOSE_WAIT',
      '  TCP    10.0.2.15:1032        10.0.2.2:7000          CLOSE_WAIT',
    ]);
    expect(html).toContain('after <small>(3 evidence rows)</small>');
  });

  it('charts an entry’s samples by state, one label per sample', () => {
    const [failing, clean, infra] = craftedRun().entries;
    const chart = chartDataOf(failing!)!;
    expect(chart.labels).toHaveLength(failing!.socketSeries!.samples.length);
    expect(chart.labels[0]).toBe('before');
    expect(chart.labels.at(-1)).toBe('after (120)');
    expect(chart.datasets.map((d) => d.state)).toEqual(['CLOSE_WAIT']);
    expect(chart.datasets[0]!.data.at(-1)).toBe(97);
    expect(chartDataOf(clean!)!.datasets.map((d) => d.state)).toEqual(['ESTABLISHED', 'TIME_WAIT']);
    expect(chartDataOf(infra!)).toBeUndefined();
  });
});

describe('writeRunReport', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('inlines Chart.js from node_modules and the serial tail; writes report.html beside results.json', async () => {
    root = await mkdtemp(join(tmpdir(), 'retrolab-report-'));
    const dir = await writeCraftedRun(root);
    const file = await writeRunReport(dir);
    expect(file).toBe(join(dir, 'report.html'));
    const html = await readFile(file, 'utf8');
    expect(html).toMatch(/Chart\.js v4\.\d+\.\d+/);
    expect(html).toContain('retrolab-agent 1.0 ready');
    expect(html).toContain('Against the baseline');
  });
});
