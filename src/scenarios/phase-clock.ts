import { PHASE_NAMES, type PhaseName, type PhaseTimes } from '../model/run-results.ts';

/**
 * Adds up where one scenario's wall time goes, phase by phase, from the
 * moment it is created (the scenario's start) to `finish`.
 */
export class PhaseClock {
  readonly #started = performance.now();
  readonly #ms = Object.fromEntries(PHASE_NAMES.map((name) => [name, 0])) as Record<PhaseName, number>;

  add(name: PhaseName, ms: number): void {
    this.#ms[name] += ms;
  }

  async time<T>(name: PhaseName, work: () => Promise<T> | T): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  /** The phases, the wall time so far, the guest's own share and the rest (overhead), in whole milliseconds. */
  finish(guestSideMs: number): PhaseTimes {
    const wall = Math.round(performance.now() - this.#started);
    const guestSide = Math.round(guestSideMs);
    const phases = Object.fromEntries(PHASE_NAMES.map((name) => [name, Math.round(this.#ms[name])])) as Record<PhaseName, number>;
    return { ...phases, wall, guestSide, overhead: wall - guestSide };
  }
}
