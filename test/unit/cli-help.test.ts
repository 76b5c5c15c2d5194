import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.ts';
import type { CommandSpec } from '../../src/cli/command-spec.ts';
import { suggest } from '../../src/cli/did-you-mean.ts';
import { listTargets } from '../../src/config/target-list.ts';
import { SCENARIO_NAMES } from '../../src/model/scenario-catalog.ts';
import { retrolabInProcess, retrolabProcess } from '../support/cli-process.ts';

function leaves(commands: readonly CommandSpec[]): CommandSpec[] {
  return commands.flatMap((command) => (command.subcommands?.length ? [command, ...leaves(command.subcommands)] : [command]));
}

describe('help everywhere', () => {
  it('--help, -h and `help <command>` on every command and subcommand print its usage and exit 0 (in-process)', async () => {
    for (const command of leaves(COMMANDS)) {
      const words = command.name.split(' ');
      for (const argv of [
        [...words, '--help'],
        [...words, '-h'],
        ['help', ...words],
      ]) {
        const out = await retrolabInProcess(argv);
        expect(out.code, `${argv.join(' ')}: ${out.stderr}`).toBe(0);
        expect(out.stdout, argv.join(' ')).toMatch(new RegExp(`^usage: retrolab ${command.name}\\b`));
        expect(out.stdout).toContain(command.summary);
      }
    }
  });

  it('as a process: image --help, image prepare -h and doctor --help print help instead of running', async () => {
    const [image, prepare, doctor, top] = await Promise.all([
      retrolabProcess(['image', '--help']),
      retrolabProcess(['image', 'prepare', '-h']),
      retrolabProcess(['doctor', '--help']),
      retrolabProcess([]),
    ]);
    expect(image.code).toBe(0);
    expect(image.stdout).toMatch(/subcommands:\n\s+prepare .*\n[\s\S]*\s+setup-media .*\n[\s\S]*\s+install /);
    expect(prepare.code).toBe(0);
    expect(prepare.stdout.replace(/\s+/g, ' ')).toContain('(required; one of: win2000, win95, win98, winme, winnt4)');
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain('usage: retrolab doctor [--json]');
    expect(doctor.stdout).not.toMatch(/Docker engine/); // it printed help; it did not run the checks
    // No command at all: the overview on stderr and exit 2.
    expect(top.code).toBe(2);
    expect(top.stderr).toContain('commands:');
  });

  it('lab --help lists every target, every scenario and the exit codes 0, 1, 2, 3, 130', async () => {
    const out = await retrolabProcess(['lab', '--help']);
    expect(out.code).toBe(0);
    const section = (title: string) => out.stdout.split(`\n${title}:\n`)[1]?.split('\n\n')[0] ?? '';
    for (const target of await listTargets()) expect(section('targets')).toMatch(new RegExp(`^  ${target} `, 'm'));
    for (const scenario of SCENARIO_NAMES) expect(section('scenarios')).toMatch(new RegExp(`^  ${scenario} `, 'm'));
    expect([...section('exit codes').matchAll(/^ {2}(\d+) /gm)].map((m) => m[1])).toEqual(['0', '1', '2', '3', '130']);
    expect(section('files written')).toContain('results/<run-id>/results.json');
  });
});

describe('usage errors: exit 2, what is wrong, a suggestion and the usage line', () => {
  it('an unknown option as a process: did you mean, the usage line, exit 2, and nothing run', async () => {
    const out = await retrolabProcess(['lab', '--targt', 'wine']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^retrolab: unknown option --targt; did you mean --target\?\nusage: retrolab lab \[--target T\]\.\.\./);
    expect(out.stderr).toContain('(retrolab help lab for more)');
    expect(out.stdout).toBe('');
  });

  it.each([
    [['lab', '-x'], /unknown option -x\n/],
    [['lab', '--basline', 'b.json'], /unknown option --basline; did you mean --baseline\?/],
    [
      ['run', '--target', 'wnie', '--scenario', 'dup-close'],
      /--target: "wnie" is not one of win2000, win95, win98, wine, wine-vm, winme, winnt4; did you mean "wine"\?/,
    ],
    [['run', '--target', 'wine', '--scenario', 'dup-clos'], /did you mean "dup-close"\?/],
    [['run', '--scenario', 'dup-close'], /--target is required for run: one or more of win2000, win95, .*\nusage: retrolab run --target T/],
    [['run'], /--target is required for run[^\n]*\n--scenario is required for run/],
    [['lab', '--cycles', 'many'], /--cycles: "many" is not a number from 1 to 10000/],
    [['lab', '--cycles'], /--cycles <value>' argument missing/],
    [['lab', 'wine'], /unexpected argument "wine" \(options start with --\)/],
    [['lab', '--tolerance', '0.2'], /--tolerance: only means something with --baseline FILE/],
    [['lab', '--baseline-strict'], /--baseline-strict: only means something with --baseline FILE/],
    [['lab', '--patch-install', 'x'], /--patch-install: needs --patch DIR/],
    [['image', 'prepare', '--image', 'x.img'], /--target is required: one of win2000, win95, win98, winme, winnt4\n/],
    [['image', 'prepare', '--target', 'wine', '--image', 'x.img'], /--target: "wine" is not one of win2000, win95, win98, winme, winnt4/],
    [['image'], /image: a subcommand is required \(prepare, setup-media, install\)/],
    [['imgae', 'prepare'], /unknown command "imgae"; did you mean "image"\?/],
    [['labb'], /unknown command "labb"; did you mean "lab"\?/],
    [['help', 'lba'], /unknown command "lba"; did you mean "lab"\?/],
    [['doctor', '--jsn'], /unknown option --jsn; did you mean --json\?/],
  ])('retrolab %j', async (argv, message) => {
    const out = await retrolabInProcess(argv);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toMatch(/\nusage: retrolab /);
  });

  it('suggests only names close to what was typed', () => {
    expect(suggest('--targt', ['--target', '--scenario'])).toEqual(['--target']);
    expect(suggest('--tagret', ['--target'])).toEqual(['--target']);
    expect(suggest('--base', ['--baseline', '--baseline-strict', '--cycles'])).toEqual(['--baseline', '--baseline-strict']);
    expect(suggest('--zzz', ['--target', '--scenario'])).toEqual([]);
  });
});
