import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { quoteWccValue, quoteWlinkName, wlinkDirectives } from '../../src/guest-apps/watcom-command-line.ts';

describe('wlink names', () => {
  it('quotes the stdcall entry, whose @0 wlink would read as an indirect file', () => {
    expect(quoteWlinkName('_rt_entry@0')).toBe("'_rt_entry@0'");
  });

  it('quotes spaces, commas and = and leaves plain names alone', () => {
    expect(quoteWlinkName('build/guest/obj/a.obj')).toBe('build/guest/obj/a.obj');
    expect(quoteWlinkName('my build/a.obj')).toBe("'my build/a.obj'");
    expect(quoteWlinkName('a,b.obj')).toBe("'a,b.obj'");
    expect(quoteWlinkName('x=y.obj')).toBe("'x=y.obj'");
    expect(quoteWlinkName('@file')).toBe("'@file'");
  });

  it('refuses what it cannot quote, naming it', () => {
    expect(() => quoteWlinkName("it's.obj")).toThrow(ConfigError);
    expect(() => quoteWlinkName("it's.obj")).toThrow(/wlink cannot be given the name "it's\.obj"/);
    expect(() => quoteWlinkName('')).toThrow(ConfigError);
  });

  it('writes one directive per line with every odd name quoted', () => {
    const text = wlinkDirectives({ output: 'out dir/p.exe', objects: ['a b.obj', 'c.obj'], libs: ['kernel32'], entry: '_rt_entry@0' });
    expect(text.split('\n')).toEqual([
      'system nt',
      'option quiet',
      "option start='_rt_entry@0'",
      'runtime console=4.0',
      'option osversion=4.0',
      "name 'out dir/p.exe'",
      "file 'a b.obj'",
      'file c.obj',
      'library kernel32.lib',
      '',
    ]);
  });
});

describe('wcc386 values', () => {
  it('double-quotes values with spaces or @ and leaves plain ones alone', () => {
    expect(quoteWccValue('guest-apps/rt')).toBe('guest-apps/rt');
    expect(quoteWccValue('../my dir/x.obj')).toBe('"../my dir/x.obj"');
    expect(quoteWccValue('@x.c')).toBe('"@x.c"');
    expect(() => quoteWccValue('a"b')).toThrow(/wcc386 cannot be given "a\\"b"/);
  });
});
