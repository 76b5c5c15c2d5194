import { RetrolabError } from '../errors.ts';

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
