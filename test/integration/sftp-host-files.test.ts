import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostAddress } from '../../src/docker/host-address.ts';
import { SftpHostFiles, localSha256 } from '../../src/docker/sftp-host-files.ts';
import { SshSession } from '../../src/docker/ssh-session.ts';
import type { ProgressEvent } from '../../src/report/progress.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

/**
 * The files of a host that does not see this machine's paths, against the
 * real test host (scripts/test-host.sh: sshd in a network and mount namespace
 * of its own), in a cache folder of this test's own there.
 */

let session: SshSession;
let local: string;
let cacheDir: string;

function testHostUp(): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    execFile('bash', [join(PROJECT_ROOT, 'scripts', 'test-host.sh'), 'up'], { timeout: 180_000 }, (error, stdout, stderr) => {
      if (error)
        return reject(new Error(`scripts/test-host.sh up failed (it needs root, iproute2, openssh-server, docker.io):\n${stderr}`));
      resolve(
        Object.fromEntries(
          stdout
            .split('\n')
            .flatMap((line) => (/^[A-Z_]+=/.test(line) ? [[line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]] : [])),
        ),
      );
    });
  });
}

async function remote(command: string): Promise<string> {
  const result = await session.exec(command);
  expect(result.exitCode, `${command}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  const env = await testHostUp();
  const address = parseHostAddress(env.RETROLAB_TESTHOST_URL ?? '', 'RETROLAB_TESTHOST_URL');
  if (address.kind !== 'ssh') throw new Error('the test host is not an ssh:// host');
  session = await SshSession.connect({ ...address, identityFile: env.RETROLAB_SSH_KEY, knownHostsFile: env.RETROLAB_KNOWN_HOSTS });
  cacheDir = `/root/.cache/retrolab-test-${randomBytes(4).toString('hex')}`;
  local = await mkdtemp(join(tmpdir(), 'retrolab-sftp-'));
});

afterAll(async () => {
  if (session) {
    await session.exec(`rm -rf '${cacheDir}'`).catch(() => undefined);
    await session[Symbol.asyncDispose]();
  }
  if (local) await rm(local, { recursive: true, force: true });
});

describe('SftpHostFiles on the test host', () => {
  it('copies a file once into the cache under its sha256, checked on the host; a second run reuses it', async () => {
    const file = join(local, 'disk.img');
    await writeFile(file, randomBytes(3 * 1024 * 1024 + 17));
    const sha = await localSha256(file);
    const events: ProgressEvent[] = [];
    const files = await SftpHostFiles.open(session, { cacheDir });
    const path = await files.provideFile(file, { onProgress: (event) => events.push(event) });
    expect(path).toBe(posix.join(cacheDir, 'files', sha, 'disk.img'));
    expect((await remote(`sha256sum '${path}'`)).split(' ')[0]).toBe(sha);
    expect(events.some((event) => event.kind === 'done' && event.message.includes('copied and checked'))).toBe(true);
    // Nothing but the file itself is left in its folder (the temporary name is gone).
    expect((await remote(`ls -1 '${posix.dirname(path)}'`)).trim()).toBe('disk.img');

    const again: ProgressEvent[] = [];
    const next = await SftpHostFiles.open(session, { cacheDir });
    expect(await next.provideFile(file, { onProgress: (event) => again.push(event) })).toBe(path);
    expect(again).toEqual([]);
  });

  it('a copy cut short never counts: nothing at the final name, the partial removed, the next call copies it whole', async () => {
    const file = join(local, 'cut.img');
    await writeFile(file, randomBytes(48 * 1024 * 1024));
    const sha = await localSha256(file);
    const dir = posix.join(cacheDir, 'files', sha);
    const files = await SftpHostFiles.open(session, { cacheDir });
    const controller = new AbortController();
    const cut = await files
      .provideFile(file, {
        signal: controller.signal,
        // The transfer has begun (its first progress update): cut it there.
        onProgress: (event) => event.kind === 'progress' && controller.abort(new Error('cut by the test')),
      })
      .catch((error: unknown) => error);
    expect(cut).toBeInstanceOf(Error);
    expect((await remote(`ls -1A '${dir}'`)).trim()).toBe('');

    const whole = await (await SftpHostFiles.open(session, { cacheDir })).provideFile(file);
    expect(basename(whole)).toBe('cut.img');
    expect((await remote(`sha256sum '${whole}'`)).split(' ')[0]).toBe(sha);
  });

  it('makes a run folder under runs/ for the containers’ user and removes it on dispose', async () => {
    const files = await SftpHostFiles.open(session, { cacheDir });
    let path: string;
    {
      await using dir = await files.makeRunDir('qemu-', '65534:65534');
      path = dir.path;
      expect(posix.dirname(path)).toBe(posix.join(cacheDir, 'runs'));
      expect((await remote(`stat -c %u:%g '${path}'`)).trim()).toBe('65534:65534');
    }
    expect(await files.exists(path)).toBe(false);
  });

  it('copies a folder of small files by content: the same bytes give the same folder, a changed byte a new one', async () => {
    const dir = join(local, 'programs');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'agent.exe'), randomBytes(9000));
    await writeFile(join(dir, 'sub', 'start.sh'), 'echo hi\n', { mode: 0o755 });
    const first = await (await SftpHostFiles.open(session, { cacheDir })).provideDir(dir);
    expect((await remote(`cat '${first}/sub/start.sh'`)).trim()).toBe('echo hi');
    expect(await (await SftpHostFiles.open(session, { cacheDir })).provideDir(dir)).toBe(first);
    await writeFile(join(dir, 'sub', 'start.sh'), 'echo ho\n');
    const second = await (await SftpHostFiles.open(session, { cacheDir })).provideDir(dir);
    expect(second).not.toBe(first);
  });
});
