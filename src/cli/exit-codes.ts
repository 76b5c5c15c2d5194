/** Exit codes of the CLI, mapped from error types in main.ts only. */
export const EXIT = {
  ok: 0,
  /** The lab ran and something did not behave as expected (a failed verdict, a regression, a missing prerequisite). */
  failed: 1,
  /** Bad flags, config or input file. */
  usage: 2,
  /** The lab itself broke (engine, QEMU, agent). */
  infrastructure: 3,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each code means, for `--help` and the README (one list, so the two cannot drift apart). */
export const EXIT_CODES: readonly { code: ExitCode; meaning: string }[] = [
  { code: EXIT.ok, meaning: 'every verdict passed or was skipped, and nothing regressed against the baseline' },
  {
    code: EXIT.failed,
    meaning:
      'a verdict failed, a baseline comparison found a regression, a target was skipped under --fail-on-skip, or doctor found a required check missing',
  },
  { code: EXIT.usage, meaning: 'the command line, a config file or an input file cannot be used (the message says which and why)' },
  {
    code: EXIT.infrastructure,
    meaning: 'the lab itself broke (engine, QEMU, agent): an infra-error entry says where; results are still written',
  },
  { code: EXIT.interrupted, meaning: 'stopped by Ctrl-C or SIGTERM; what was decided so far is written, marked interrupted' },
];
