import { listTargets, loadTargetSpecs } from '../config/target-list.ts';
import type { TargetName } from '../config/vm-spec.ts';
import { TOOLCHAIN_KINDS, type ToolchainChoice } from '../guest-apps/toolchain.ts';
import { PATCH_WHEN, type PatchWhen } from '../scenarios/patch.ts';
import { SCENARIO_NAMES, SCENARIOS, type ScenarioName } from '../model/scenario-catalog.ts';
import type { OptionSpec } from './command-spec.ts';
import { EXIT_CODES } from './exit-codes.ts';
import type { ParsedArgs } from './parsed-args.ts';
import { UsageError } from './usage-error.ts';
import { quoteInput } from '../util/quote-input.ts';
import { formatRows, usageLines } from './help.ts';
import { RUN_FILES } from './run-files.ts';
import { errorMessage } from '../errors.ts';
import { formatShard, parseShard, type Shard } from '../scheduler/shard.ts';

/**
 * The options of `lab` and `run`. Adding one is one entry here (parsed,
 * shown by --help, listed in the README's CLI reference) plus reading it in
 * parseLabOptions.
 */
export const LAB_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'target',
    type: 'string',
    multiple: true,
    value: 'T',
    choices: () => listTargets(),
    description: 'a target to run: a folder of vms/ (default for lab: all)',
  },
  {
    name: 'scenario',
    type: 'string',
    multiple: true,
    value: 'S',
    choices: SCENARIO_NAMES,
    description: 'a scenario to run (default for lab: all)',
  },
  { name: 'cycles', type: 'string', value: 'N', description: "cycles per program run instead of each scenario's own (1 to 10000)" },
  {
    name: 'baseline',
    type: 'string',
    value: 'FILE',
    description: 'compare with a stored run (results.json); when FILE does not exist yet, store this run there',
  },
  { name: 'baseline-strict', type: 'boolean', description: 'with --baseline: also count the entries this run left out as changes' },
  { name: 'tolerance', type: 'string', value: 'R', description: 'leak-rate change (0 to 1) a baseline comparison ignores (default 0.1)' },
  { name: 'patch', type: 'string', value: 'DIR', description: "copy DIR into each scenario's guest before it runs" },
  {
    name: 'patch-install',
    type: 'string',
    value: 'CMD',
    description: 'with --patch: run CMD in the guest (in the patch folder) to install it',
  },
  {
    name: 'patch-when',
    type: 'string',
    value: 'W',
    choices: [...PATCH_WHEN],
    description:
      "with --patch: per-guest installs it in every scenario's guest (default); saved-state installs it once, before the state every guest starts from (QEMU: a saved VM state keyed by the patch; wine: a patched prefix image)",
  },
  {
    name: 'out',
    type: 'string',
    value: 'DIR',
    description: 'write results/<run-id>/ and latest under DIR (default results/, or RETROLAB_RESULTS)',
  },
  {
    name: 'fail-on-skip',
    type: 'boolean',
    description: 'exit 1 when a target or scenario was skipped (a licensed target without its image)',
  },
  {
    name: 'toolchain',
    type: 'string',
    value: 'TC',
    choices: ['auto', ...TOOLCHAIN_KINDS],
    description:
      'the compiler of the guest programs: Open Watcom or mingw-w64 (default auto: Open Watcom when found; RETROLAB_TOOLCHAIN does the same)',
  },
  {
    name: 'reuse-guest',
    type: 'boolean',
    description:
      "run a target's scenarios in one guest instead of a fresh guest each (faster, not isolated: a leak carries over; results.json says reused)",
  },
  {
    name: 'host',
    type: 'string',
    multiple: true,
    value: 'URL',
    description:
      'a Docker host to run on: ssh://user@host[:port], tcp://host[:port] (TLS as the docker CLI: DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) or unix:///path (repeatable; default: hosts in retrolab.config.json, else DOCKER_HOST, else the local engine)',
  },
  {
    name: 'jobs',
    type: 'string',
    value: 'N',
    description: "scenarios at a time on each host named (slots; default 1, or the config's slots)",
  },
  {
    name: 'shard',
    type: 'string',
    value: 'I/N',
    description: 'run only the I-th of N parts of the matrix (CI sharding; join them with results merge)',
  },
  {
    name: 'sample-share',
    type: 'string',
    value: 'F',
    description:
      'the most of the time while cycles run that looks at the socket table may take, 0 to 1 (default 0.2; 1: back to back; 0: only after the cycles)',
  },
  { name: 'verbose', type: 'boolean', description: 'print every line the guest programs log' },
];

/** The lists `lab --help` ends with: what can be run, what the exit code means, what is written. */
export async function labDetails(): Promise<string> {
  const specs = await loadTargetSpecs();
  const rows = (items: readonly (readonly [string, string])[]) => formatRows(items);
  return [
    'targets:',
    ...rows(
      specs.map(
        (spec) =>
          [
            spec.target,
            spec.licensed ? 'licensed: needs your prepared disk image (skipped otherwise)' : 'open: built here from Debian packages',
          ] as const,
      ),
    ),
    '',
    'scenarios:',
    ...rows(SCENARIO_NAMES.map((name) => [name, SCENARIOS[name].title] as const)),
    '',
    'exit codes:',
    ...rows(EXIT_CODES.map((code) => [String(code.code), code.meaning] as const)),
    '',
    'files written:',
    ...rows(RUN_FILES.map((file) => [file.path, file.what] as const)),
  ].join('\n');
}

export interface LabOptions {
  targets: TargetName[];
  scenarios: ScenarioName[];
  cycles?: number;
  baseline?: string;
  baselineStrict: boolean;
  tolerance?: number;
  patchDir?: string;
  patchInstall?: string;
  /** `--patch-when`: in every scenario's guest (default) or once before the saved state. */
  patchWhen: PatchWhen;
  out?: string;
  /** `--toolchain`: the compiler of the guest programs; undefined leaves it to RETROLAB_TOOLCHAIN (default: Open Watcom when found). */
  toolchain?: ToolchainChoice;
  /** Every scenario of a target in one guest (faster, not isolated; the results say `reused`). */
  reuseGuest: boolean;
  failOnSkip: boolean;
  verbose: boolean;
  /** `--host` values, in order (chosen against the config and DOCKER_HOST when the run starts). */
  hosts: string[];
  /** `--jobs`: slots per host. */
  jobs?: number;
  /** `--shard i/n`. */
  shard?: Shard;
  /** `--sample-share`: the socket sampler's share of the time while cycles run (SAMPLE_SHARE when absent). */
  sampleShare?: number;
}

/** The options as they were given, for results.json (`options`): what a reader needs to rerun it. */
export function labOptionsRecord(options: LabOptions): Record<string, string | number | boolean | string[]> {
  const { shard, ...rest } = options;
  return {
    ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)),
    ...(shard ? { shard: formatShard(shard) } : {}),
  };
}

function listOf<T extends string>(values: readonly string[]): T[] {
  return [
    ...new Set(
      values
        .flatMap((value) => value.split(','))
        .map((value) => value.trim())
        .filter(Boolean),
    ),
  ] as T[];
}

/**
 * Reads the options of `lab` and `run` (names and choices are checked by the
 * parser); every remaining problem is reported at once as `flag: message`.
 */
export async function parseLabOptions(args: ParsedArgs, mode: 'lab' | 'run'): Promise<LabOptions> {
  const allTargets = await listTargets();
  const problems: string[] = [];
  const targets = listOf<TargetName>(args.strings('target'));
  const scenarios = listOf<ScenarioName>(args.strings('scenario'));
  if (mode === 'run' && targets.length === 0)
    problems.push(`--target is required for run: one or more of ${allTargets.join(', ')} (lab runs them all)`);
  if (mode === 'run' && scenarios.length === 0)
    problems.push(`--scenario is required for run: one or more of ${SCENARIO_NAMES.join(', ')} (lab runs them all)`);
  const number = (flag: string, min: number, max: number): number | undefined => {
    const text = args.string(flag);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      problems.push(`--${flag}: ${quoteInput(text)} is not a number from ${min} to ${max}`);
    return n;
  };
  const cycles = number('cycles', 1, 10_000);
  const jobs = number('jobs', 1, 64);
  let shard: Shard | undefined;
  const shardText = args.string('shard');
  if (shardText !== undefined) {
    try {
      shard = parseShard(shardText);
    } catch (error) {
      problems.push(errorMessage(error));
    }
  }
  const tolerance = number('tolerance', 0, 1);
  const sampleShare = number('sample-share', 0, 1);
  if (args.has('patch-install') && !args.has('patch')) problems.push('--patch-install: needs --patch DIR (the folder it installs)');
  if (args.has('patch-when') && !args.has('patch')) problems.push('--patch-when: needs --patch DIR (the patch it places)');
  if (args.has('tolerance') && !args.has('baseline')) problems.push('--tolerance: only means something with --baseline FILE');
  if (args.flag('baseline-strict') && !args.has('baseline')) problems.push('--baseline-strict: only means something with --baseline FILE');
  if (problems.length > 0) throw new UsageError(problems.join('\n'), { name: args.command.name, usage: usageLines(args.command) });
  const baseline = args.string('baseline');
  const patchDir = args.string('patch');
  const patchInstall = args.string('patch-install');
  const out = args.string('out');
  const toolchain = args.string('toolchain') as ToolchainChoice | undefined;
  return {
    targets: targets.length > 0 ? targets : allTargets,
    scenarios: scenarios.length > 0 ? scenarios : [...SCENARIO_NAMES],
    ...(cycles !== undefined ? { cycles: Math.floor(cycles) } : {}),
    baseline,
    baselineStrict: args.flag('baseline-strict'),
    tolerance,
    patchDir,
    patchInstall,
    patchWhen: (args.string('patch-when') as PatchWhen | undefined) ?? 'per-guest',
    out,
    toolchain,
    reuseGuest: args.flag('reuse-guest'),
    failOnSkip: args.flag('fail-on-skip'),
    verbose: args.flag('verbose'),
    hosts: args.strings('host'),
    jobs: jobs === undefined ? undefined : Math.floor(jobs),
    shard,
    ...(sampleShare !== undefined ? { sampleShare } : {}),
  };
}
