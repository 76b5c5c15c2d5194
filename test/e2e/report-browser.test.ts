import { access, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runResults, type RunResults } from '../../src/model/run-results.ts';
import { VERDICT_STYLES } from '../../src/report/verdict-style.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';
import { retrolabProcess } from '../support/cli-process.ts';
import { HOSTILE, writeCraftedRun } from '../support/crafted-run.ts';

/**
 * report.html in a real browser: Debian's chromium driven by playwright-core
 * through its executablePath (nothing is downloaded). Two reports: the one a
 * real `retrolab run` on wine writes (with a licensed target skipped), and
 * one `retrolab report` writes for a crafted run with a fail, an
 * infra-error, skips and baseline changes. Every request the page would make
 * is refused and recorded; the browser context is offline.
 */

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(PROJECT_ROOT, 'results', 'report-e2e');
/**
 * The README's picture of the report, made here so it shows what the code draws. Every run writes it under
 * results/ (ignored); it replaces docs/report.png only when asked (`npm run docs:screenshot`), so that
 * `npm test` leaves a checkout as clean as it found it.
 */
const README_SHOT = join(SHOTS, 'report.png');
const DOCS_SHOT = process.env.RETROLAB_DOCS_SCREENSHOT === '1' ? join(PROJECT_ROOT, 'docs', 'report.png') : undefined;

let browser: Browser;
let work: string;

beforeAll(async () => {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(
      `chromium is missing: ${CHROMIUM} not found (scripts/host-setup.sh installs Debian's chromium: apt-get install chromium)`,
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM });
  work = await mkdtemp(join(tmpdir(), 'retrolab-report-e2e-'));
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Run in the page as expressions (this project compiles without the DOM
 * library): each canvas's pixels painted (alpha above 0) and its size.
 */
const PAINTED_PIXELS = `[...document.querySelectorAll('canvas')].map((element) => {
  const { data } = element.getContext('2d').getImageData(0, 0, element.width, element.height);
  let count = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count += 1;
  return { id: element.id, drawn: element.getAttribute('data-drawn'), count, size: element.width * element.height };
})`;
const computed = (selector: string, property: string) =>
  `getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${JSON.stringify(property)}]`;

function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

interface Opened {
  page: Page;
  consoleErrors: string[];
  refused: string[];
}

/** Opens a report offline; every request other than the file itself is refused and recorded. */
async function openReport(file: string): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
  await context.setOffline(true);
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const refused: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  const url = pathToFileURL(file).href;
  await page.route('**/*', async (route) => {
    if (route.request().url() === url) return route.continue();
    refused.push(route.request().url());
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, consoleErrors, refused };
}

/** What every report must show: no error, no request, every chart drawn, the matrix and totals as results.json says. */
async function checkReport(opened: Opened, results: RunResults): Promise<void> {
  const { page } = opened;
  expect(opened.consoleErrors).toEqual([]);
  expect(opened.refused).toEqual([]);
  expect(await page.evaluate("performance.getEntriesByType('resource').length")).toBe(0);

  const withSamples = results.entries.filter((entry) => (entry.socketSeries?.samples.length ?? 0) > 0);
  const canvases: { id: string; drawn: string | null; count: number; size: number }[] = await page.evaluate(PAINTED_PIXELS);
  expect(canvases).toHaveLength(withSamples.length);
  for (const canvas of canvases) {
    expect(canvas.drawn, canvas.id).toBe('yes');
    // Axes, labels and at least one line: a blank canvas has none painted.
    expect(canvas.size, canvas.id).toBeGreaterThan(10_000);
    expect(canvas.count, canvas.id).toBeGreaterThan(1_000);
  }

  for (const entry of results.entries) {
    const selector = `td.cell[data-target="${entry.target}"][data-scenario="${entry.scenario}"]`;
    const cell = page.locator(selector);
    expect(await cell.count(), `${entry.target} ${entry.scenario}`).toBe(1);
    expect(await cell.getAttribute('data-verdict')).toBe(entry.verdict);
    const style = VERDICT_STYLES[entry.verdict];
    expect(await page.evaluate(computed(selector, 'backgroundColor'))).toBe(rgb(style.color));
    expect(await page.evaluate(computed(selector, 'backgroundImage'))).toEqual(
      style.pattern === 'none' ? 'none' : expect.stringContaining('gradient'),
    );
    const text = await cell.innerText();
    expect(text).toContain(style.label);
    expect(text).toContain(`expected ${entry.expected ?? '—'} · observed ${entry.observed ?? '—'}`);
    if (entry.counts) expect(text).toContain(`${entry.counts.leaked}/${entry.counts.connectionsOpened} held`);
  }
  for (const verdict of ['pass', 'fail', 'infra-error', 'skipped'] as const) {
    const count = results.entries.filter((entry) => entry.verdict === verdict).length;
    expect(await page.locator(`[data-total="${verdict}"]`).innerText()).toBe(`${style(verdict)} ${count}`);
  }
}

const style = (verdict: keyof typeof VERDICT_STYLES) => VERDICT_STYLES[verdict].label;

describe('report.html in chromium', () => {
  it('the report a real run on wine wrote: every chart drawn, matrix and counts as results.json, offline', async () => {
    const out = join(work, 'results');
    const run = await retrolabProcess(
      ['run', '--target', 'wine,win98', '--scenario', 'dup-close,leak-control', '--cycles', '5', '--out', out],
      // A path that does not exist: win98 is skipped whatever this machine's config says.
      { env: { RETROLAB_IMAGE_WIN98: join(work, 'no-such-win98.qcow2') } },
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const report = join(out, 'latest', 'report.html');
    expect(run.stdout).toContain('report.html');
    const results = runResults.parse(JSON.parse(await readFile(join(out, 'latest', 'results.json'), 'utf8')));
    expect(results.entries.map((entry) => entry.verdict).sort()).toEqual(['pass', 'pass', 'skipped', 'skipped']);
    for (const entry of results.entries.filter((e) => e.target === 'wine')) {
      expect(entry.socketSeries?.samples.filter((s) => s.phase === 'cycles' || s.phase === 'settle').length).toBeGreaterThanOrEqual(10);
      expect(entry.settings.winsock).toBe('2 (ws2_32.dll)');
    }

    const opened = await openReport(report);
    await checkReport(opened, results);
    // leak-control's "during" table holds the 5 connections: the evidence rows are highlighted there.
    const during = opened.page.locator('#wine--leak-control pre[data-table="during"] .ev');
    expect(await during.count()).toBe(5);
    await opened.page.screenshot({ path: join(SHOTS, 'wine-run.png'), fullPage: true });
    await opened.page.screenshot({ path: README_SHOT, fullPage: false });
    if (DOCS_SHOT) await copyFile(README_SHOT, DOCS_SHOT);
    await opened.page.context().close();
  });

  it('the report of a crafted run (fail, infra-error, skips, baseline changes): marks, screenshot, no injected markup', async () => {
    const dir = await writeCraftedRun(join(work, 'crafted'));
    const written = await retrolabProcess(['report', dir]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe(`report: ${join(dir, 'report.html')}\n`);
    const results = runResults.parse(JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')));

    const opened = await openReport(join(dir, 'report.html'));
    await checkReport(opened, results);
    const { page } = opened;
    const changed = page.locator('td.cell[data-target="win98"][data-scenario="dup-close"] .change');
    expect((await changed.all()).length).toBe(3);
    for (const change of results.baselineChanges!) {
      const mark = page.locator(
        `td.cell[data-target="${change.target}"][data-scenario="${change.scenario}"] .change[data-change="${change.kind}"]`,
      );
      expect(await mark.getAttribute('data-label')).toBe(change.label);
    }
    expect(await page.locator('td.cell .change').count()).toBe(results.baselineChanges!.length);
    expect(await page.locator('#baseline li').count()).toBe(results.baselineChanges!.length);
    // The hostile NETSTAT/serial text is on the page as text, and ran nowhere.
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('#win98--dup-close pre[data-table="before"]').innerText()).toContain(HOSTILE);
    // The frozen guest's screenshot is inlined and decodes.
    expect(
      await page.evaluate(
        "(({ naturalWidth, naturalHeight }) => [naturalWidth, naturalHeight])(document.querySelector('#win98--leak-after-exit img'))",
      ),
    ).toEqual([64, 48]);
    await page.emulateMedia({ media: 'print' });
    await page.screenshot({ path: join(SHOTS, 'crafted-run.png'), fullPage: true });
    await page.context().close();
  });
});
