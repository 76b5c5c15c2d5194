import type { ResultEntry, RunResults } from '../model/run-results.ts';

/**
 * JUnit XML for CI dashboards: one testsuite per target, one testcase per
 * scenario. A fail is a <failure> with the evidence, an infrastructure error
 * an <error>, a skipped scenario <skipped> with the reason and the fix.
 */
export function formatJunit(results: RunResults): string {
  const targets = [...new Set(results.entries.map((entry) => entry.target))];
  const totals = tally(results.entries);
  const regressions = (results.baselineChanges ?? []).filter((change) => change.label === 'regression');
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="retrolab" tests="${totals.tests + regressions.length}" failures="${totals.failures + regressions.length}" errors="${totals.errors}" skipped="${totals.skipped}" time="${seconds(totals.durationMs)}" timestamp="${attr(results.startedAt)}">`,
  ];
  for (const target of targets) {
    const entries = results.entries.filter((entry) => entry.target === target);
    const counts = tally(entries);
    lines.push(
      `  <testsuite name="${attr(target)}" tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${seconds(counts.durationMs)}" timestamp="${attr(results.startedAt)}" hostname="${attr(results.host.hostname)}">`,
      '    <properties>',
      `      <property name="runId" value="${attr(results.runId)}"/>`,
      '    </properties>',
    );
    for (const entry of entries) lines.push(...testcase(entry));
    lines.push('  </testsuite>');
  }
  // A regression against the baseline fails CI like a failed verdict, under its own name.
  if (regressions.length > 0) {
    lines.push(
      `  <testsuite name="baseline" tests="${regressions.length}" failures="${regressions.length}" errors="0" skipped="0" time="0.000" timestamp="${attr(results.startedAt)}" hostname="${attr(results.host.hostname)}">`,
      '    <properties>',
      `      <property name="baseline" value="${attr(results.baseline ?? '')}"/>`,
      '    </properties>',
    );
    for (const change of regressions) {
      lines.push(
        `    <testcase name="baseline" classname="retrolab.${attr(change.target)}.${attr(change.scenario)}" time="0.000">`,
        `      <failure message="${attr(change.text)}" type="regression">${xml(`${change.text}\nagainst ${results.baseline ?? 'the baseline'}\n`)}</failure>`,
        '    </testcase>',
      );
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

function testcase(entry: ResultEntry): string[] {
  const open = `    <testcase name="${attr(entry.scenario)}" classname="retrolab.${attr(entry.target)}" time="${seconds(entry.durationMs)}"`;
  const fix = entry.fix === undefined ? '' : `fix: ${entry.fix}\n`;
  const details = `${entry.reason}\n${fix}${entry.evidence === null ? '' : `\n${entry.evidence.netstatExcerpt}\n`}`;
  switch (entry.verdict) {
    case 'pass':
      return [`${open}>`, `      <system-out>${xml(details)}</system-out>`, '    </testcase>'];
    case 'fail':
      return [`${open}>`, `      <failure message="${attr(entry.reason)}" type="fail">${xml(details)}</failure>`, '    </testcase>'];
    case 'infra-error':
      return [`${open}>`, `      <error message="${attr(entry.reason)}" type="infra-error">${xml(details)}</error>`, '    </testcase>'];
    case 'skipped':
      return [`${open}>`, `      <skipped message="${attr(entry.reason)}">${xml(details)}</skipped>`, '    </testcase>'];
  }
}

function tally(entries: readonly ResultEntry[]) {
  return {
    tests: entries.length,
    failures: entries.filter((entry) => entry.verdict === 'fail').length,
    errors: entries.filter((entry) => entry.verdict === 'infra-error').length,
    skipped: entries.filter((entry) => entry.verdict === 'skipped').length,
    durationMs: entries.reduce((sum, entry) => sum + entry.durationMs, 0),
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** Escapes text for an element, dropping characters XML 1.0 cannot carry (a guest's stray control bytes). */
export function xml(text: string): string {
  let kept = '';
  for (const char of text) if (isXmlChar(char.codePointAt(0) ?? 0)) kept += char;
  return kept.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\r/g, '&#13;');
}

/** Escapes text for an attribute value, where a parser would fold a raw newline into a space. */
function attr(text: string): string {
  return xml(text).replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || code >= 0x10000;
}
