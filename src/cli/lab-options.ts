import { parseArgs } from 'node:util';
import type { TargetName } from '../config/vm-spec.ts';
import { ConfigError } from '../errors.ts';
import { parseToolchainChoice, type ToolchainChoice } from '../guest-apps/toolchain.ts';
import { SCENARIO_NAMES, type ScenarioName } from '../model/scenario-catalog.ts';
import { quoteInput } from '../util/quote-input.ts';

export interface LabOptions {
  targets: TargetName[];
  scenarios: ScenarioName[];
  cycles?: number;
  baseline?: string;
  tolerance?: number;
  patchDir?: string;
  patchInstall?: string;
  /** `--toolchain`: the compiler of the guest programs; undefined leaves it to RETROLAB_TOOLCHAIN (default: Open Watcom when found). */
  toolchain?: ToolchainChoice;
  /** Every scenario of a target in one guest (faster, not isolated; the results say `reused`). */
  reuseGuest: boolean;
  verbose: boolean;
}

function list<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], problems: string[]): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((v) => v.trim()).filter(Boolean);
  const bad = items.filter((v) => !(allowed as readonly string[]).includes(v));
  if (bad.length > 0) problems.push(`${flag}: unknown ${bad.map((b) => quoteInput(b)).join(', ')}; choose from ${allowed.join(', ')}`);
  return items as T[];
}

/**
 * Parses the flags of `lab` and `run`; every problem is reported at once as
 * `flag: message`. `defaults.targets` is every target (the folders of vms/):
 * the default set and the names --target accepts.
 */
export function parseLabOptions(args: string[], defaults: { targets: readonly TargetName[] }): LabOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        target: { type: 'string', multiple: true },
        targets: { type: 'string' },
        scenario: { type: 'string', multiple: true },
        scenarios: { type: 'string' },
        cycles: { type: 'string' },
        baseline: { type: 'string' },
        tolerance: { type: 'string' },
        patch: { type: 'string' },
        'patch-install': { type: 'string' },
        toolchain: { type: 'string' },
        'reuse-guest': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  const problems: string[] = [];
  const targets = list('--target', [...(v.target ?? []), ...(v.targets ? [v.targets] : [])].join(',') || undefined, defaults.targets, problems);
  const scenarios = list('--scenario', [...(v.scenario ?? []), ...(v.scenarios ? [v.scenarios] : [])].join(',') || undefined, SCENARIO_NAMES, problems);
  const number = (flag: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) problems.push(`${flag}: ${quoteInput(text)} is not a number from ${min} to ${max}`);
    return n;
  };
  const cycles = number('--cycles', v.cycles, 1, 10_000);
  const tolerance = number('--tolerance', v.tolerance, 0, 1);
  if (v['patch-install'] !== undefined && v.patch === undefined) problems.push('--patch-install: needs --patch DIR (the folder it installs)');
  let toolchain: ToolchainChoice | undefined;
  try {
    toolchain = v.toolchain === undefined ? undefined : parseToolchainChoice(v.toolchain, '--toolchain');
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return {
    targets: targets ?? [...defaults.targets],
    scenarios: scenarios ?? [...SCENARIO_NAMES],
    ...(cycles !== undefined ? { cycles: Math.floor(cycles) } : {}),
    ...(v.baseline !== undefined ? { baseline: v.baseline } : {}),
    ...(tolerance !== undefined ? { tolerance } : {}),
    ...(v.patch !== undefined ? { patchDir: v.patch } : {}),
    ...(v['patch-install'] !== undefined ? { patchInstall: v['patch-install'] } : {}),
    ...(toolchain !== undefined ? { toolchain } : {}),
    reuseGuest: v['reuse-guest'] ?? false,
    verbose: v.verbose ?? false,
  };
}
