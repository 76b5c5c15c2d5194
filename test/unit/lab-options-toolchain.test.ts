import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.ts';
import { parseLabOptions } from '../../src/cli/lab-options.ts';
import { parseOptions } from '../../src/cli/parse-command-line.ts';
import { UsageError } from '../../src/cli/usage-error.ts';

const lab = COMMANDS.find((command) => command.name === 'lab')!;
const options = async (args: string[]) => parseLabOptions(await parseOptions(lab, args), 'lab');

describe('--toolchain', () => {
  it('takes watcom, mingw or auto, and leaves the default to RETROLAB_TOOLCHAIN when absent', async () => {
    expect((await options(['--toolchain', 'mingw'])).toolchain).toBe('mingw');
    expect((await options(['--toolchain=watcom'])).toolchain).toBe('watcom');
    expect((await options(['--toolchain', 'auto'])).toolchain).toBe('auto');
    expect((await options([])).toolchain).toBeUndefined();
  });

  it('refuses another compiler, with the choices', async () => {
    await expect(options(['--toolchain', 'msvc'])).rejects.toThrow(UsageError);
    await expect(options(['--toolchain', 'msvc'])).rejects.toThrow('--toolchain: "msvc" is not one of auto, watcom, mingw');
  });
});
