/** Exit codes of the CLI, mapped from error types in main.ts only. */
export const EXIT = {
  ok: 0,
  /** The lab ran and something did not behave as expected (a failed verdict, a missing prerequisite). */
  failed: 1,
  /** Bad flags, config or input file. */
  usage: 2,
  /** The lab itself broke (engine, QEMU, agent). */
  infrastructure: 3,
  interrupted: 130,
} as const;
