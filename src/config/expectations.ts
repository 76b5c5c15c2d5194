import { join, relative } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { parseWithSchema, readJsonFile } from './json-file.ts';
import { expectedOutcome } from '../model/run-results.ts';
import { SCENARIO_NAMES, type ScenarioName } from '../model/scenario-catalog.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { targetName, type TargetName } from './vm-spec.ts';

/**
 * A platform that cannot run a scenario's cycle at all: every cycle fails at
 * `step` with Winsock `error`, measured and explained in `why`. The verdict
 * passes only while exactly that keeps happening, so the day the platform
 * runs the cycle the expectation fails and gets revisited.
 */
export const cyclesFailExpectation = z.strictObject({
  step: z.string().min(1, 'must name the step that fails, e.g. "child-send"'),
  error: z.number().int().min(1, 'must be the Winsock error code, e.g. 10038'),
  why: z.string().trim().min(1, 'must say why the platform cannot run the cycle'),
});
export type CyclesFailExpectation = z.infer<typeof cyclesFailExpectation>;

/**
 * What a platform is predicted to do in one scenario, as data in
 * `vms/<target>/expectations.json`, with its source.
 *
 * `unknown` is for predictions no source makes (the KB names only Windows 95
 * for the DuplicateHandle path, so Windows 98 there is open): the verdict
 * reports what was seen and never fails on it.
 */
export const scenarioExpectation = z.strictObject({
  expect: expectedOutcome,
  /** Where the prediction comes from, e.g. "KB Q198663". */
  source: z.string().trim().min(1, 'must name where the prediction comes from, e.g. "KB Q198663"'),
  note: z.string().optional(),
  cyclesFail: cyclesFailExpectation.optional(),
});
export type ScenarioExpectation = z.infer<typeof scenarioExpectation>;

export const targetExpectations = z.strictObject({
  target: targetName,
  scenarios: z.strictObject(
    Object.fromEntries(SCENARIO_NAMES.map((name) => [name, scenarioExpectation])) as Record<ScenarioName, typeof scenarioExpectation>,
  ),
});
export type TargetExpectations = z.infer<typeof targetExpectations>;

/** Reads and checks `vms/<target>/expectations.json`; every problem in the file is reported at once. */
export async function loadExpectations(
  target: TargetName,
  options: { root?: string; signal?: AbortSignal } = {},
): Promise<TargetExpectations> {
  const file = join(options.root ?? PROJECT_ROOT, 'vms', target, 'expectations.json');
  const shown = relative(process.cwd(), file) || file;
  const json = await readJsonFile(file, {
    shown,
    what: `the expectations of target ${target}`,
    signal: options.signal,
  });
  const expectations = parseExpectations(json, shown);
  if (expectations.target !== target) {
    throw new ConfigError(`${shown}: target: "${expectations.target}" does not match its folder vms/${target}`, {
      context: { file, target: expectations.target },
    });
  }
  return expectations;
}

/** Checks already-parsed expectations; `source` names them in messages (`vms/win98/expectations.json: scenarios.dup-close.expect: ...`). */
export function parseExpectations(json: unknown, source: string): TargetExpectations {
  return parseWithSchema(targetExpectations, json, source);
}
