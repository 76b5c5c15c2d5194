import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { deadOwnersRunDirs, defaultCacheDir, shellQuote } from '../../src/docker/sftp-host-files.ts';

describe('sftp-host-files', () => {
  it('quotes a path for the host’s shell so that sh reads back exactly the same bytes', () => {
    // A folder name with a quote, a command and a variable in it: each would break out of naive quoting.
    for (const value of ["/srv/it's here", '/a b/$(touch /tmp/x)/`id`', '/c/$HOME/"q"', '']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
    }
  });

  it('puts root’s cache outside /root, which the runner images close to the containers’ user', () => {
    expect(defaultCacheDir('/root', true)).toBe('/var/cache/retrolab');
    expect(defaultCacheDir('/home/lab', false)).toBe('/home/lab/.cache/retrolab');
  });

  it('sweeps only run folders on the host whose owner was a process of this machine that is gone', () => {
    const here = hostname()
      .replace(/[^A-Za-z0-9.]/g, '_')
      .slice(0, 24);
    const alive = (pid: number) => pid === 4242;
    const names = [
      `qemu-${here}-999999-aB3dE9`, // this machine, a dead process: removed
      `wine-${here}-4242-Zz0000`, // this machine, a live process: kept
      'qemu-other_box-999999-aB3dE9', // another machine's run: it cannot be checked from here, kept
      `qemu-${here}-999999`, // not a run folder of this naming (no random part): kept
      'qemu-Xy12Ab', // a run folder made before owners were named: kept
    ];
    expect(deadOwnersRunDirs(names, alive)).toEqual([`qemu-${here}-999999-aB3dE9`]);
  });
});
