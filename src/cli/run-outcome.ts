import type { RunResults } from '../model/run-results.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

/**
 * The exit code of a lab/run and the last line that says why: every cause
 * that counts is named, the one that decides the code first.
 */
export function runOutcome(results: RunResults, options: { failOnSkip: boolean }): { code: ExitCode; line: string } {
  const count = (verdict: string) => results.entries.filter((entry) => entry.verdict === verdict);
  const names = (entries: readonly { target: string; scenario: string }[]) =>
    `${entries
      .slice(0, 3)
      .map((entry) => `${entry.target} ${entry.scenario}`)
      .join(', ')}${entries.length > 3 ? `, and ${entries.length - 3} more` : ''}`;
  const infra = count('infra-error');
  const failed = count('fail');
  const skipped = count('skipped');
  const regressions = (results.baselineChanges ?? []).filter((change) => change.label === 'regression');
  const improvements = (results.baselineChanges ?? []).filter((change) => change.label === 'improvement');
  const reasons: string[] = [];
  let code: ExitCode = EXIT.ok;
  const raise = (to: ExitCode) => {
    if (code === EXIT.ok || (code === EXIT.failed && to !== EXIT.ok)) code = to;
  };
  if (results.interrupted) {
    code = EXIT.interrupted;
    reasons.push(`interrupted after ${results.entries.length} decided entr${results.entries.length === 1 ? 'y' : 'ies'}`);
  }
  if (infra.length > 0) {
    raise(EXIT.infrastructure);
    reasons.push(
      `${infra.length} infrastructure error(s) (${names(infra)})${results.stoppedBy ? `; the run stopped: ${results.stoppedBy}` : ''}`,
    );
  }
  if (failed.length > 0) {
    raise(EXIT.failed);
    reasons.push(`${failed.length} failed verdict(s) (${names(failed)})`);
  }
  if (regressions.length > 0) {
    raise(EXIT.failed);
    reasons.push(
      `${regressions.length} regression(s) against the baseline (${regressions
        .slice(0, 3)
        .map((change) => change.text.replace(/^regression: /, ''))
        .join('; ')})`,
    );
  }
  if (skipped.length > 0 && options.failOnSkip) {
    raise(EXIT.failed);
    reasons.push(`${skipped.length} skipped scenario(s) with --fail-on-skip (${names(skipped)})`);
  }
  if (code === EXIT.ok) {
    const parts = [
      `${count('pass').length} passed`,
      skipped.length > 0 ? `${skipped.length} skipped (not a failure without --fail-on-skip)` : '',
    ];
    if (results.baseline)
      parts.push(`no regression against the baseline${improvements.length > 0 ? ` (${improvements.length} improvement(s))` : ''}`);
    return { code, line: `exit 0: ${parts.filter(Boolean).join(', ')}` };
  }
  return { code, line: `exit ${code}: ${reasons.join('; ')}` };
}
