import { PHASE_NAMES, type BaselineChange, type ResultEntry, type RunResults } from '../model/run-results.ts';
import { TCP_STATES, type TcpState } from '../model/tcp-state.ts';
import { describeWinsockError } from '../verdict/winsock-errors.ts';
import { anchorId, escapeHtml as esc, inlineScript, jsonForScript } from './html.ts';
import { REPORT_CSS } from './report-css.ts';
import { REPORT_SCRIPT } from './report-script.ts';
import { DEFAULT_STATE_STYLE, STATE_STYLES, VERDICT_STYLES } from './verdict-style.ts';

/** What an artifact contributes to the page: a PNG as base64, or the tail of a text file. */
export type ArtifactContent = { kind: 'png'; base64: string } | { kind: 'text'; tail: string; truncated: boolean };

export interface ReportInput {
  results: RunResults;
  /** The changes to mark: the ones stored with the run, or those against a baseline given to `retrolab report`. */
  baseline?: { name: string; changes: readonly BaselineChange[]; warnings: readonly string[] };
  /** Contents of the entries' artifacts, by path relative to the run folder (absent: not readable). */
  artifacts: ReadonlyMap<string, ArtifactContent>;
  /** Chart.js's UMD build, inlined so the page needs no network. */
  chartLibrary: string;
}

/** The data the page's script draws the charts from (one per entry with samples). */
export interface ChartData {
  id: string;
  labels: string[];
  datasets: { state: TcpState; label: string; data: number[]; color: string; dash: number[]; point: string }[];
}

const entryKey = (entry: { target: string; scenario: string }) => `${entry.target}\u0000${entry.scenario}`;

/** The lines of a table that the evidence quotes, matched by their two endpoints (the evidence may quote another table's spelling). */
function evidenceKeys(excerpt: string): Set<string> {
  const keys = new Set<string>();
  for (const line of excerpt.split(/\r?\n/)) {
    const key = endpointsOf(line);
    if (key) keys.add(key);
  }
  return keys;
}

function endpointsOf(line: string): string | undefined {
  const match = /^\s*(?:TCP|UDP)\s+(\S+:\S+)\s+(\S+:\S+)/i.exec(line);
  return match ? `${match[1]} ${match[2]}` : undefined;
}

function tableText(raw: string, keys: Set<string>): { html: string; highlighted: number } {
  let highlighted = 0;
  const lines = raw.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  const html = lines
    .map((line) => {
      const key = endpointsOf(line);
      if (key !== undefined && keys.has(key)) {
        highlighted += 1;
        return `<span class="ev">${esc(line)}</span>`;
      }
      return esc(line);
    })
    .join('\n');
  return { html, highlighted };
}

export function chartDataOf(entry: ResultEntry): ChartData | undefined {
  const series = entry.socketSeries;
  if (series === undefined || series.samples.length === 0) return undefined;
  const states = TCP_STATES.filter((state) => series.samples.some((sample) => (sample.states[state] ?? 0) > 0));
  const labels = series.samples.map((sample) =>
    sample.phase === 'before'
      ? 'before'
      : sample.phase === 'after'
        ? `after (${sample.cycle})`
        : `${sample.cycle}${sample.phase === 'settle' ? ' settle' : ''}`,
  );
  return {
    id: anchorId('chart', entry.target, entry.scenario),
    labels,
    datasets: states.map((state) => {
      const style = STATE_STYLES[state] ?? DEFAULT_STATE_STYLE;
      return { state, label: state, data: series.samples.map((sample) => sample.states[state] ?? 0), ...style };
    }),
  };
}

function verdictBadge(verdict: ResultEntry['verdict']): string {
  const style = VERDICT_STYLES[verdict];
  return `<span class="badge v-${verdict}">${esc(style.symbol)} ${esc(style.label)}</span>`;
}

function changeMark(change: BaselineChange): string {
  const symbol = change.label === 'regression' ? '▲' : change.label === 'improvement' ? '▼' : '△';
  const value = (v: BaselineChange['from']) => (typeof v === 'number' ? `${Math.round(v * 100)} %` : (v ?? '—'));
  return `<span class="change c-${change.label}" data-change="${esc(change.kind)}" data-label="${esc(change.label)}" title="${esc(change.text)}">${symbol} ${esc(change.label)}: ${esc(change.kind)} ${esc(value(change.from))} → ${esc(value(change.to))}</span>`;
}

function matrixHtml(results: RunResults, changesOf: (entry: { target: string; scenario: string }) => BaselineChange[]): string {
  const targets = [...new Set(results.entries.map((entry) => entry.target))];
  const scenarios = [...new Set(results.entries.map((entry) => entry.scenario))];
  const byKey = new Map(results.entries.map((entry) => [entryKey(entry), entry]));
  const head = `<tr><th scope="col">target \\ scenario</th>${scenarios.map((s) => `<th scope="col">${esc(s)}</th>`).join('')}</tr>`;
  const rows = targets.map((target) => {
    const cells = scenarios.map((scenario) => {
      const entry = byKey.get(entryKey({ target, scenario }));
      if (entry === undefined) return '<td class="none">not run</td>';
      const style = VERDICT_STYLES[entry.verdict];
      const expected = entry.expected ?? '—';
      const observed = entry.observed ?? '—';
      const counts = entry.counts ? `<div class="n">${entry.counts.leaked}/${entry.counts.connectionsOpened} held</div>` : '';
      const marks = changesOf(entry).map(changeMark).join('');
      return `<td class="cell v-${entry.verdict}" data-target="${esc(target)}" data-scenario="${esc(scenario)}" data-verdict="${esc(entry.verdict)}"><a href="#${anchorId(target, scenario)}"><div class="lbl">${esc(style.symbol)} ${esc(style.label)}</div><div class="eo">expected ${esc(expected)} · observed ${esc(observed)}</div>${counts}</a>${marks}</td>`;
    });
    return `<tr><th scope="row">${esc(target)}</th>${cells.join('')}</tr>`;
  });
  return `<table class="matrix" id="matrix"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function legendHtml(withBaseline: boolean): string {
  const verdicts = (['pass', 'fail', 'infra-error', 'skipped'] as const).map(
    (verdict) => `<span class="swatch v-${verdict}">${esc(VERDICT_STYLES[verdict].symbol)} ${esc(VERDICT_STYLES[verdict].label)}</span>`,
  );
  const changes = withBaseline
    ? ' <span class="change c-regression">▲ regression</span> <span class="change c-improvement">▼ improvement</span> <span class="change c-change">△ change</span> (against the baseline)'
    : '';
  return `<p class="legend">${verdicts.join(' ')}${changes}</p>`;
}

function countsHtml(entry: ResultEntry, changes: BaselineChange[]): string {
  const counts = entry.counts;
  if (counts === null) return '<p class="muted">No counts: the scenario produced no observation.</p>';
  const rateChange = changes.find((change) => change.kind === 'leak-rate');
  const rows: [string, string][] = [
    ['connections opened', String(counts.connectionsOpened)],
    ['held (leaked)', String(counts.leaked)],
    ['leak rate', `${(counts.leakRate * 100).toFixed(0)} %${rateChange ? ` ${changeMark(rateChange)}` : ''}`],
    ['cycles run / planned', `${counts.cyclesRun} / ${counts.cyclesPlanned}`],
    ['socket table exhausted (WSAENOBUFS)', counts.tableExhausted ? 'yes' : 'no'],
  ];
  const evidence = entry.evidence;
  if (evidence) {
    rows.push(['measured', `${esc(evidence.measuredAt)} in ${esc(evidence.tableSource)}`]);
    const states = Object.entries(evidence.leakedStates);
    if (states.length) rows.push(['held per state', states.map(([state, n]) => `${esc(state)} ${n}`).join(', ')]);
    if (evidence.finalConnect)
      rows.push(['final connect()', evidence.finalConnect.ok ? 'ok' : `failed: ${esc(describeWinsockError(evidence.finalConnect.error))}`]);
    if (evidence.tableExhaustion) {
      const t = evidence.tableExhaustion;
      rows.push([
        'table exhaustion',
        `${esc(t.step)} failed at cycle ${t.cycle ?? 'final'} of ${t.cyclesPlanned}, ${t.held} held (${t.heldInTable} in the table, MaxConnections ${t.maxConnections ?? 'default 100'})`,
      ]);
    }
  }
  // Values above are numbers or escaped already; the change mark is built from escaped parts.
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function cycleErrorsHtml(entry: ResultEntry): string {
  const failures = entry.evidence?.cycleFailures ?? [];
  if (failures.length === 0) return '';
  return `<h4>Errors of failed cycles</h4><table class="grid errors"><thead><tr><th>step</th><th>error</th><th>cycles</th></tr></thead><tbody>${failures
    .map((f) => `<tr><td>${esc(f.step)}</td><td>${esc(describeWinsockError(f.error))}</td><td>${f.count}</td></tr>`)
    .join('')}</tbody></table>`;
}

function guestFactsHtml(entry: ResultEntry): string {
  const settings = entry.settings;
  const rows: [string, string][] = [
    ['OS', String(settings.os ?? '—')],
    ['Winsock', String(settings.winsock ?? '—')],
    [
      'MaxConnections',
      String(settings.maxConnections ?? (String(settings.os ?? '').startsWith('win9x') ? 'not set (default 100)' : 'n/a')),
    ],
  ];
  for (const [name, value] of Object.entries(settings))
    if (!['os', 'winsock', 'maxConnections'].includes(name)) rows.push([name, String(value)]);
  if (entry.guest) rows.push(['guest start', `${entry.guest.start} (${entry.guest.id}, ${entry.guest.startMs} ms)`]);
  if (entry.host) rows.push(['host', entry.host]);
  if (entry.toolchain) rows.push(['guest compiler', `${entry.toolchain.kind}: ${entry.toolchain.identity}`]);
  if (entry.patch)
    rows.push(['patch', `${entry.patch.dir} sha256:${entry.patch.sha256.slice(0, 12)} (install exit ${entry.patch.exitCode ?? '—'})`]);
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

function phasesHtml(entry: ResultEntry): string {
  const phases = entry.phases;
  if (!phases) return '<p class="muted">No phase times.</p>';
  const longest = Math.max(1, ...PHASE_NAMES.map((name) => phases[name]));
  const rows = PHASE_NAMES.filter((name) => phases[name] > 0).map(
    (name) =>
      `<tr><th scope="row">${esc(name)}</th><td class="num">${(phases[name] / 1000).toFixed(2)} s</td><td class="barcell"><span class="bar" style="width:${((phases[name] / longest) * 100).toFixed(1)}%"></span></td></tr>`,
  );
  rows.push(
    `<tr><th scope="row">wall</th><td class="num">${(phases.wall / 1000).toFixed(2)} s</td><td>guest side ${(phases.guestSide / 1000).toFixed(2)} s, overhead ${(phases.overhead / 1000).toFixed(2)} s</td></tr>`,
  );
  return `<table class="kv phases">${rows.join('')}</table>`;
}

function netstatHtml(entry: ResultEntry): string {
  const netstat = entry.netstat;
  if (netstat === null) return '<p class="muted">No tables: the scenario produced no observation.</p>';
  const keys = evidenceKeys(entry.evidence?.netstatExcerpt ?? '');
  const columns = (['before', 'during', 'after'] as const).map((label) => {
    const text = netstat[label];
    if (text === undefined)
      return `<div class="col"><h5>${label}</h5><p class="muted">not taken (the leak is counted after the program exits)</p></div>`;
    const table = tableText(text.raw, keys);
    return `<div class="col"><h5>${label}${table.highlighted ? ` <small>(${table.highlighted} evidence row${table.highlighted === 1 ? '' : 's'})</small>` : ''}</h5><pre class="netstat" data-table="${label}">${table.html}</pre></div>`;
  });
  return `<div class="side">${columns.join('')}</div>`;
}

function artifactsHtml(entry: ResultEntry, artifacts: ReadonlyMap<string, ArtifactContent>): string {
  const refs = entry.artifacts ?? [];
  if (refs.length === 0) return '';
  const items = refs.map((ref) => {
    const content = artifacts.get(ref.path);
    const name = `<a href="${esc(ref.path)}">${esc(ref.path)}</a> (${ref.kind}, ${ref.bytes} bytes)`;
    if (content?.kind === 'png')
      return `<figure>${name}<img alt="${esc(`screenshot ${ref.path}`)}" src="data:image/png;base64,${content.base64}"></figure>`;
    if (content?.kind === 'text')
      return `<div>${name}${content.truncated ? ' — last lines' : ''}<pre class="tail">${esc(content.tail)}</pre></div>`;
    return `<div>${name}</div>`;
  });
  return `<h4>Artifacts</h4>${items.join('')}`;
}

function entryHtml(
  entry: ResultEntry,
  changes: BaselineChange[],
  chart: ChartData | undefined,
  artifacts: ReadonlyMap<string, ArtifactContent>,
): string {
  const series = entry.socketSeries;
  const chartHtml = chart
    ? `<div class="chartbox"><canvas id="${chart.id}" role="img" aria-label="${esc(`connections to ${series?.peer ?? 'the peer'} per state over the cycles`)}"></canvas></div><p class="muted">${series!.samples.length} looks at ${esc(series!.source)}: connections to ${esc(series!.peer)} per state; x: cycles the program had reported finished${series!.error ? `; sampling stopped: ${esc(series!.error)}` : ''}</p>`
    : '<p class="muted">No socket samples (the scenario ran no program).</p>';
  return `<section class="entry" id="${anchorId(entry.target, entry.scenario)}" data-verdict="${esc(entry.verdict)}">
<h3>${verdictBadge(entry.verdict)} ${esc(entry.target)} · ${esc(entry.scenario)} ${changes.map(changeMark).join(' ')}</h3>
<p class="eo">expected <b>${esc(entry.expected ?? '—')}</b>, observed <b>${esc(entry.observed ?? '—')}</b></p>
<p class="reason">${esc(entry.reason)}</p>${entry.fix ? `<p class="fix">to fix: ${esc(entry.fix)}</p>` : ''}
<div class="two"><div><h4>Counts</h4>${countsHtml(entry, changes)}</div><div><h4>Guest</h4>${guestFactsHtml(entry)}<h4>Phase times</h4>${phasesHtml(entry)}</div></div>
<h4>Socket states over the cycles</h4>${chartHtml}
${cycleErrorsHtml(entry)}
<h4>NETSTAT before, during, after</h4>${netstatHtml(entry)}
${artifactsHtml(entry, artifacts)}
</section>`;
}

/** The whole report page: one string, no external reference. */
export function buildReportHtml(input: ReportInput): string {
  const { results } = input;
  const changes = input.baseline?.changes ?? [];
  const changesOf = (entry: { target: string; scenario: string }) => changes.filter((change) => entryKey(change) === entryKey(entry));
  const charts = results.entries.map(chartDataOf);
  const totals = (['pass', 'fail', 'infra-error', 'skipped'] as const).map(
    (verdict) =>
      `<span class="swatch v-${verdict}" data-total="${verdict}">${esc(VERDICT_STYLES[verdict].label)} ${results.entries.filter((e) => e.verdict === verdict).length}</span>`,
  );
  const baseline = input.baseline
    ? `<section id="baseline"><h2>Against the baseline</h2><p>${esc(input.baseline.name)}</p>${input.baseline.warnings.map((w) => `<p class="warn">warning: ${esc(w)}</p>`).join('')}${
        changes.length
          ? `<ul class="changes">${changes.map((change) => `<li>${changeMark(change)} <a href="#${anchorId(change.target, change.scenario)}">${esc(change.text)}</a></li>`).join('')}</ul>`
          : '<p>No change.</p>'
      }</section>`
    : '';
  const version = results.retrolab
    ? `retrolab ${results.retrolab.version}${results.retrolab.commit ? ` (${results.retrolab.commit.slice(0, 10)})` : ''}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>retrolab run ${esc(results.runId)}</title>
<style>${REPORT_CSS}</style></head>
<body>
<header><h1>retrolab run ${esc(results.runId)}</h1>
<p>${esc(results.startedAt)} → ${esc(results.finishedAt)} · ${esc(results.host.hostname)} (${results.host.cpus} CPUs) · ${esc(version)}${results.interrupted ? ' · <b>interrupted</b>' : ''}${results.stoppedBy ? ` · stopped: ${esc(results.stoppedBy)}` : ''}</p>
<p class="totals">${results.entries.length} entries: ${totals.join(' ')}</p></header>
<main>
<section><h2>Matrix</h2>${legendHtml(input.baseline !== undefined)}${matrixHtml(results, changesOf)}</section>
${baseline}
<section><h2>Entries</h2>${results.entries.map((entry, i) => entryHtml(entry, changesOf(entry), charts[i], input.artifacts)).join('\n')}</section>
</main>
<script type="application/json" id="chart-data">${jsonForScript(charts.filter((chart) => chart !== undefined))}</script>
<script>${inlineScript(input.chartLibrary)}</script>
<script>${inlineScript(REPORT_SCRIPT)}</script>
</body></html>
`;
}
