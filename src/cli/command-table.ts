import { listLicensedTargets, listTargets } from '../config/target-list.ts';
import type { CommandSpec, OptionSpec } from './command-spec.ts';
import { CHECK_STATUSES } from '../doctor/check-status.ts';
import { formatRows } from './help.ts';
import { LAB_OPTIONS, labDetails } from './lab-options.ts';

/**
 * Every command of the CLI, one entry each: its name, one-line summary,
 * options and a lazy import of its implementation. `--help`, `retrolab help`,
 * the "did you mean" suggestions and the README's CLI reference are all made
 * from this list, so a new command or option is one entry here (then
 * `npm run readme:cli` to refresh the README; a unit test says when it is due).
 */

const licensedTarget: OptionSpec = {
  name: 'target',
  type: 'string',
  value: 'T',
  required: true,
  choices: () => listLicensedTargets(),
  description: 'the licensed target: a folder of vms/ whose spec.json says "licensed": true',
};
const force: OptionSpec = {
  name: 'force',
  type: 'boolean',
  description: 'replace an existing --out (never your image or a file of its backing chain, even so)',
};
const imageCommon: readonly OptionSpec[] = [
  { name: 'max-connections', type: 'string', value: 'N', description: "sets the guest's TCP table size (MaxConnections) in the registry" },
  { name: 'user', type: 'string', value: 'NAME', description: 'Windows NT/2000: the account that logs on by itself (with --password)' },
  { name: 'password', type: 'string', value: 'PW', description: 'Windows NT/2000: its password ("" for a blank one)' },
  { name: 'verbose', type: 'boolean', description: 'print every build and tool line' },
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'doctor',
    summary: 'checks every prerequisite and says how to fix what is missing',
    options: [
      { name: 'json', type: 'boolean', description: 'print the checks as JSON (name, status, required, detail, fix) instead of a table' },
    ],
    details: () =>
      Promise.resolve(
        [
          'statuses:',
          ...formatRows(CHECK_STATUSES.map(({ status, meaning }) => [status, meaning] as const)),
          '',
          'exits 1 when a required check is not ok.',
        ].join('\n'),
      ),
    load: async () => (await import('./commands/doctor.ts')).doctorCommand,
  },
  {
    name: 'images',
    summary: 'runner images',
    subcommands: [
      {
        name: 'images build',
        summary: 'builds the runner images that are missing or stale',
        options: [{ name: 'verbose', type: 'boolean', description: 'print every build line (the default on CI)' }],
        load: async () => (await import('./commands/images.ts')).imagesBuildCommand,
        reaped: true,
      },
    ],
  },
  {
    name: 'lab',
    summary: 'runs every scenario on every target (licensed ones without an image are skipped)',
    options: LAB_OPTIONS,
    details: labDetails,
    load: async () => (await import('./commands/lab.ts')).labCommand,
    reaped: true,
  },
  {
    name: 'prepare',
    summary: 'prepares targets once (guest programs, the wine-vm disk, saved VM states) so later runs only start guests',
    options: [
      {
        name: 'target',
        type: 'string',
        multiple: true,
        value: 'T',
        choices: () => listTargets(),
        description: 'a target to prepare: a folder of vms/ (default: all)',
      },
      LAB_OPTIONS.find((option) => option.name === 'toolchain')!,
      { name: 'verbose', type: 'boolean', description: 'print every build and tool line' },
    ],
    load: async () => (await import('./commands/prepare.ts')).prepareCommand,
    reaped: true,
  },
  {
    name: 'run',
    summary: 'runs the named target(s) and scenario(s): --target T --scenario S',
    usage: ['retrolab run --target T... --scenario S... [lab options]'],
    options: LAB_OPTIONS,
    details: labDetails,
    load: async () => (await import('./commands/lab.ts')).runCommand,
    reaped: true,
  },
  {
    name: 'netstat',
    summary: 'NETSTAT text',
    subcommands: [
      {
        name: 'netstat parse',
        summary:
          'parses NETSTAT text (Windows 95/98, NT 4, Wine; captured with NETSTAT -AN > FILE or pasted) or tcptab output and prints rows and state counts as JSON',
        details: () =>
          Promise.resolve(
            [
              'Pasted text may hold a prompt line (C:\\>netstat -an | find "7000"), rows without title or header,',
              'an editor\'s "..." line, and host and service names (netstat -a without -n: kept as written,',
              'well-known services mapped to ports; "namedRows" lists those rows, "notes" says what it means).',
            ].join('\n'),
          ),
        positionals: [{ name: 'FILE', required: true, description: 'the captured text, e.g. NETSTAT -AN > FILE on a real machine' }],
        options: [
          {
            name: 'format',
            type: 'string',
            value: 'F',
            choices: ['auto', 'netstat', 'tcptab'],
            description: 'the input format (default auto)',
          },
        ],
        load: async () => (await import('./commands/netstat-parse.ts')).netstatParseCommand,
      },
    ],
  },
  {
    name: 'image',
    summary: 'makes a licensed target ready',
    subcommands: [
      {
        name: 'image prepare',
        summary: 'writes a prepared copy (qcow2) of your installed disk so the agent starts by itself; the original is only read',
        options: [
          licensedTarget,
          { name: 'image', type: 'string', value: 'PATH', required: true, description: 'your installed disk image' },
          {
            name: 'out',
            type: 'string',
            value: 'PATH|DIR',
            description:
              'where the prepared copy goes: a file, or an existing folder that gets <target>-prepared.qcow2 (default under .cache/)',
          },
          force,
          ...imageCommon,
        ],
        load: async () => (await import('./commands/image.ts')).imagePrepareCommand,
        reaped: true,
      },
      {
        name: 'image setup-media',
        summary: 'writes a floppy image and an ISO with the agent, SETUP.BAT and the .reg files, for a guest you set up by hand',
        options: [
          licensedTarget,
          { name: 'out', type: 'string', value: 'DIR', description: 'the folder for the two images (default .cache/setup-media)' },
          force,
          ...imageCommon,
        ],
        load: async () => (await import('./commands/image.ts')).imageSetupMediaCommand,
        reaped: true,
      },
      {
        name: 'image install',
        summary: 'installs Windows unattended from your CD onto a new disk under QEMU, then prepares it',
        options: [
          licensedTarget,
          { name: 'iso', type: 'string', value: 'PATH', required: true, description: 'your install CD image' },
          { name: 'product-key', type: 'string', value: 'KEY', required: true, description: 'the key of your licence' },
          {
            name: 'boot-floppy',
            type: 'string',
            value: 'PATH',
            description:
              '95/98/ME: your boot floppy, when the CD does not boot; NT 4: a DOS boot floppy (required: setup runs winnt /b from C:\\I386)',
          },
          { name: 'out', type: 'string', value: 'PATH', description: 'where the prepared disk goes' },
          force,
          { name: 'disk-size-mb', type: 'string', value: 'N', description: 'size of the new disk' },
          { name: 'timeout-minutes', type: 'string', value: 'N', description: 'bound on each setup stage (default 60)' },
          ...imageCommon,
        ],
        load: async () => (await import('./commands/image.ts')).imageInstallCommand,
        reaped: true,
      },
    ],
  },
  {
    name: 'hosts',
    summary: 'lists the Docker hosts a run would use: engine version, CPUs, memory, KVM, retrolab images, free slots',
    options: [
      LAB_OPTIONS.find((option) => option.name === 'host')!,
      LAB_OPTIONS.find((option) => option.name === 'jobs')!,
      { name: 'json', type: 'boolean', description: 'print the hosts as JSON instead of a table' },
    ],
    details: () => Promise.resolve('exits 3 when a host cannot be reached (the others are still listed).'),
    load: async () => (await import('./commands/hosts.ts')).hostsCommand,
    reaped: true,
  },
  {
    name: 'report',
    summary: 'writes report.html of a run (the matrix, socket states over the cycles, NETSTAT side by side) from its results.json',
    usage: ['retrolab report [RUN_DIR | --latest] [--baseline FILE] [--open]'],
    positionals: [
      { name: 'RUN_DIR', required: false, description: 'the run folder (results/<run-id>) or its results.json; default: --latest' },
    ],
    options: [
      { name: 'latest', type: 'boolean', description: 'the latest run: results/latest (or RETROLAB_RESULTS/latest)' },
      { name: 'baseline', type: 'string', value: 'FILE', description: "mark the changes against this stored run instead of the run's own" },
      { name: 'open', type: 'boolean', description: 'open the report in the desktop browser (xdg-open) once written' },
    ],
    load: async () => (await import('./commands/report.ts')).reportCommand,
  },
  {
    name: 'results',
    summary: 'stored results',
    subcommands: [
      {
        name: 'results merge',
        summary:
          'joins the results of --shard i/n runs into the results of the whole matrix (results.json, junit.xml, report.html, artifacts)',
        positionals: [
          {
            name: 'DIR',
            required: true,
            multiple: true,
            description: "each shard's run folder, its results.json, or a results folder with latest/",
          },
        ],
        options: [
          {
            name: 'out',
            type: 'string',
            value: 'DIR',
            description: 'write <run-id>/ and latest under DIR (default results/, or RETROLAB_RESULTS)',
          },
        ],
        load: async () => (await import('./commands/results-merge.ts')).resultsMergeCommand,
      },
    ],
  },
  {
    name: 'help',
    summary: 'prints the commands, or the help of one: retrolab help lab',
    usage: ['retrolab help [COMMAND [SUBCOMMAND]]'],
    positionals: [{ name: 'COMMAND', required: false, description: 'the command to explain' }],
  },
];
