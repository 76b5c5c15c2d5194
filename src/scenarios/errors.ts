import { RetrolabError } from '../errors.ts';
import type { ResultEntry } from '../model/run-results.ts';

/** The lab could not carry out a scenario (a guest tool failed, output never came): an infrastructure error, not a verdict. */
export class ScenarioError extends RetrolabError {
  constructor(
    message: string,
    readonly target: string,
    readonly scenario: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(`${target} / ${scenario}: ${message}`, { ...options, context: { target, scenario, ...options.context } });
  }
}

/**
 * A scenario's fresh guest did not start. Every scenario of the target needs one, so the rest of it is an
 * infra-error at once rather than another wait of the target's whole start-up time each. `entry` is the
 * scenario's own (its reason, its guestStart time).
 */
export class GuestStartError extends RetrolabError {
  constructor(
    message: string,
    readonly entry: ResultEntry,
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, context: { target: entry.target, scenario: entry.scenario } });
  }
}
