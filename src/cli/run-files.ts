/**
 * What a `lab` or `run` leaves under results/, for `lab --help` and the
 * README. A command that writes a new file adds one entry.
 */
export const RUN_FILES: readonly { path: string; what: string }[] = [
  {
    path: 'results/<run-id>/results.json',
    what: 'the truth: options, retrolab version and commit, totals, one entry per target × scenario (verdict, reason, counts, NETSTAT texts, evidence, artifacts), baselineChanges, interrupted',
  },
  {
    path: 'results/<run-id>/junit.xml',
    what: 'for CI: one testsuite per target, one testcase per scenario, a failing `baseline` testcase per regression',
  },
  {
    path: 'results/<run-id>/artifacts/<target>/<scenario>/',
    what: 'what helps to debug an infra-error (serial tail, screenshot, container log); only when there is something',
  },
  { path: 'results/latest', what: 'a link to the newest run folder, moved by every run, even one that stopped early' },
  { path: '--baseline FILE', what: 'a copy of results.json with the run settings, written when FILE did not exist yet' },
];
