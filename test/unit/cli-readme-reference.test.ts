import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { README_FILE, cliReference, referenceInReadme } from '../../src/cli/cli-reference.ts';
import { COMMANDS } from '../../src/cli/command-table.ts';
import { EXIT_CODES } from '../../src/cli/exit-codes.ts';
import { RUN_FILES } from '../../src/cli/run-files.ts';
import { CHECK_STATUSES } from '../../src/doctor/check-status.ts';
import { retrolabProcess } from '../support/cli-process.ts';

/**
 * The README's CLI reference is generated from the command table that also
 * drives --help; these tests fail when one moved without the other
 * (fix: `npm run readme:cli`).
 */
describe("README's CLI reference", () => {
  it('is what `npm run readme:cli` would write now', async () => {
    const inReadme = referenceInReadme(await readFile(README_FILE, 'utf8'));
    expect(inReadme, 'README.md has no cli-reference markers').toBeDefined();
    expect(inReadme, 'README.md CLI reference is stale: run `npm run readme:cli`').toBe(await cliReference());
  });

  it('names every command, every option lab --help prints, every exit code, every file written and every doctor status', async () => {
    const readme = referenceInReadme(await readFile(README_FILE, 'utf8')) ?? '';
    const [top, lab, doctor] = await Promise.all([
      retrolabProcess(['help']),
      retrolabProcess(['lab', '--help']),
      retrolabProcess(['doctor', '--help']),
    ]);
    const commands = [
      ...top.stdout
        .split('\ncommands:\n')[1]!
        .split('\n\n')[0]!
        .matchAll(/^ {2}(\S+(?: [a-z-]+)?)\s{2,}/gm),
    ].map((m) => m[1]);
    expect(commands.length).toBeGreaterThanOrEqual(COMMANDS.length);
    for (const command of commands) expect(readme).toContain(`| \`retrolab ${command}\` |`);
    const labSection = readme.split('#### `retrolab lab`')[1]?.split('#### ')[0] ?? '';
    const labOptions = [
      ...lab.stdout
        .split('\noptions:\n')[1]!
        .split('\n\n')[0]!
        .matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm),
    ].map((m) => m[1]);
    expect(labOptions).toContain('--baseline-strict');
    for (const option of labOptions.filter((o) => o !== '--help')) expect(labSection).toContain(`\`${option}`);
    for (const { code } of EXIT_CODES) {
      expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
      expect(lab.stdout).toMatch(new RegExp(`^ {2}${code} `, 'm'));
    }
    for (const file of RUN_FILES) expect(readme).toContain(file.path);
    for (const { status } of CHECK_STATUSES) {
      expect(readme).toContain(`| \`${status}\` |`);
      expect(doctor.stdout).toMatch(new RegExp(`^ {2}${status} `, 'm'));
    }
    expect(readme).toContain('`doctor --json`');
  });
});
