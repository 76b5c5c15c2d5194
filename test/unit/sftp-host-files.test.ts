import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultCacheDir, shellQuote } from '../../src/docker/sftp-host-files.ts';

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
});
