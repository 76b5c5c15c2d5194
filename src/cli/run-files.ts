/**
 * What a `lab` or `run` leaves under results/, for `lab --help` and the
 * README. A command that writes a new file adds one entry.
 */
export const RUN_FILES: readonly { path: string; what: string }[] = [
  {
    path: 'results/<run-id>/results.json',
    what: 'the truth: one entry per target × scenario (verdict, reason, counts, NETSTAT texts, evidence)',
  },
  { path: 'results/<run-id>/junit.xml', what: 'for CI: one testsuite per target, one testcase per scenario' },
  { path: 'results/latest', what: 'a link to the newest run folder' },
  { path: '--baseline FILE', what: 'a copy of results.json, written when FILE did not exist yet' },
];
