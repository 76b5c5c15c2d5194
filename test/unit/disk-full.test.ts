import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RetrolabError } from '../../src/errors.ts';
import { HostCommandError } from '../../src/util/host-command.ts';
import { diskFullMessage } from '../../src/util/disk-full.ts';
import { cacheDir } from '../../src/util/paths.ts';

// A full cache once showed as tar's 2,000-character complaint per file
// (`tar: var/lib/dpkg/status: Cannot write: No space left on device` ...);
// these are the shapes it arrives in, and the one line it must become.
const saved = process.env.RETROLAB_CACHE;
afterEach(() => {
  if (saved === undefined) delete process.env.RETROLAB_CACHE;
  else process.env.RETROLAB_CACHE = saved;
});

function tarFailure(into: string): HostCommandError {
  const stderr = Array.from({ length: 400 }, (_, i) => `tar: usr/lib/file${i}: Cannot write: No space left on device`).join('\n');
  return new HostCommandError({
    command: 'tar',
    args: ['-x', '-C', into],
    exitCode: 2,
    signal: null,
    stdout: '',
    stderr,
    durationMs: 2339,
  });
}

describe('diskFullMessage', () => {
  it('turns tar running out of room in the cache, wrapped by the step that ran it, into one line naming the cache and the fix', () => {
    process.env.RETROLAB_CACHE = '/tmp';
    const wrapped = new RetrolabError('Building the wine-vm disk failed at tar -x', {
      cause: tarFailure(join(cacheDir(), 'wine-vm', 'x.partial', 'rootfs')),
    });
    const message = diskFullMessage(wrapped);
    expect(message).toBeDefined();
    expect(message).not.toContain('\n');
    expect(message!.length).toBeLessThan(400);
    expect(message).toMatch(
      /^no space left on device in the cache \/tmp \(RETROLAB_CACHE; \d+ MiB free of \d+ MiB\) while tar wrote there: .*RETROLAB_CACHE/,
    );
  });

  it('names the folder of a Node ENOSPC outside the cache', () => {
    const error = Object.assign(new Error("ENOSPC: no space left on device, write '/srv/out/prepared.qcow2'"), {
      code: 'ENOSPC',
      path: '/srv/out/prepared.qcow2',
      syscall: 'write',
    });
    expect(diskFullMessage(new RetrolabError('saving the image failed', { cause: error }))).toMatch(
      /^no space left on device under \/srv\/out \((\d+ MiB free of \d+ MiB|free space unknown)\) while write wrote there/,
    );
  });

  it('leaves every other failure alone, tar included', () => {
    const other = new HostCommandError({
      command: 'tar',
      args: ['-x'],
      exitCode: 2,
      signal: null,
      stdout: '',
      stderr: 'tar: Unexpected EOF in archive',
      durationMs: 5,
    });
    expect(diskFullMessage(other)).toBeUndefined();
    expect(diskFullMessage(new Error('connect ECONNREFUSED /var/run/docker.sock'))).toBeUndefined();
    expect(diskFullMessage('no space')).toBeUndefined();
  });
});
