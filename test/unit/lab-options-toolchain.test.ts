import { describe, expect, it } from 'vitest';
import { parseLabOptions } from '../../src/cli/lab-options.ts';
import { ConfigError } from '../../src/errors.ts';

describe('--toolchain', () => {
  it('takes watcom, mingw or auto, and leaves the default to RETROLAB_TOOLCHAIN when absent', () => {
    expect(parseLabOptions(['--toolchain', 'mingw'], { targets: ['wine'] }).toolchain).toBe('mingw');
    expect(parseLabOptions(['--toolchain=watcom'], { targets: ['wine'] }).toolchain).toBe('watcom');
    expect(parseLabOptions(['--toolchain', 'auto'], { targets: ['wine'] }).toolchain).toBe('auto');
    expect(parseLabOptions([], { targets: ['wine'] }).toolchain).toBeUndefined();
  });

  it('refuses another compiler, with the choices', () => {
    expect(() => parseLabOptions(['--toolchain', 'msvc'], { targets: ['wine'] })).toThrow(ConfigError);
    expect(() => parseLabOptions(['--toolchain', 'msvc'], { targets: ['wine'] })).toThrow('--toolchain: unknown toolchain "msvc"; choose from watcom, mingw (or auto: Open Watcom when present)');
  });
});
