import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $ } from 'zx';
import { OpenWatcomProvisionError } from '../../src/guest-apps/errors.ts';
import {
  defaultSharedToolchains,
  downloadOpenWatcomRelease,
  locateOpenWatcom,
  provisionOpenWatcom,
  releaseDownloadPath,
  sha256OfFile,
} from '../../src/guest-apps/open-watcom.ts';
import { OPEN_WATCOM_RELEASE } from '../../src/guest-apps/open-watcom-release.ts';

// Provisioning against the real Open Watcom tarball in ../shared/toolchains
// (unpacked into a throwaway cache) and a real HTTP server on loopback.

let work: string;
let sharedTarball: string;
let server: Server;
let baseUrl: string;
/** A loopback port nothing listens on (taken, then released). */
let closedUrl: string;
const served = Buffer.from('not an Open Watcom release\n'.repeat(100));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ow-provision-'));
  const names = (await readdir(defaultSharedToolchains()).catch(() => [] as string[])).filter((n) => /^open-watcom.*\.tar\.xz$/.test(n));
  if (names.length === 0) {
    throw new Error(
      `no Open Watcom tarball in ${defaultSharedToolchains()}: these tests need ../shared/toolchains/open-watcom-v2-…-linux-x64.tar.xz beside the checkout`,
    );
  }
  sharedTarball = join(defaultSharedToolchains(), names.sort().at(-1)!);
  server = createServer((req, res) => {
    if (req.url === '/release.tar.xz') res.end(served);
    else res.writeHead(404).end('no such file');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/ow.tar.xz`;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(work, { recursive: true, force: true });
});

describe('Open Watcom from a tarball', () => {
  it('unpacks the shared tarball into the cache under its sha256, once', async () => {
    const cache = join(work, 'cache-shared');
    const found = await locateOpenWatcom({ env: {}, cache });
    const sha = await sha256OfFile(sharedTarball);
    expect(found).toMatchObject({ from: 'shared toolchains', tarball: sharedTarball, sha256: sha });
    expect(found?.root.startsWith(join(cache, 'open-watcom', sha))).toBe(true);
    expect(found?.bin).toBe(join(found!.root, 'binl64'));
    const wlinkLnk = await stat(join(found!.bin, 'wlink.lnk'));
    const again = await locateOpenWatcom({ env: {}, cache });
    expect(again).toEqual(found);
    expect((await stat(join(found!.bin, 'wlink.lnk'))).mtimeMs).toBe(wlinkLnk.mtimeMs);
    expect((await readdir(join(cache, 'open-watcom'))).filter((n) => n.includes('.tmp'))).toEqual([]);
  }, 60_000);

  it('takes RETROLAB_OPENWATCOM_TARBALL before the shared folder, and names a missing one', async () => {
    const cache = join(work, 'cache-env');
    const found = await locateOpenWatcom({
      env: { RETROLAB_OPENWATCOM_TARBALL: sharedTarball },
      cache,
      sharedToolchains: join(work, 'none'),
    });
    expect(found?.from).toBe('RETROLAB_OPENWATCOM_TARBALL');
    const error = await locateOpenWatcom({ env: { RETROLAB_OPENWATCOM_TARBALL: join(work, 'missing.tar.xz') }, cache }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenWatcomProvisionError);
    expect((error as Error).message).toMatch(
      /the Open Watcom tarball .*missing\.tar\.xz does not exist or is not a file\n {2}fix: point RETROLAB_OPENWATCOM_TARBALL at/,
    );
  }, 60_000);

  it('takes WATCOM before any tarball', async () => {
    const unpacked = await locateOpenWatcom({ env: {}, cache: join(work, 'cache-shared') });
    const found = await locateOpenWatcom({ env: { WATCOM: unpacked!.root, RETROLAB_OPENWATCOM_TARBALL: join(work, 'missing.tar.xz') } });
    expect(found).toEqual({ root: unpacked!.root, bin: unpacked!.bin, from: 'WATCOM' });
  }, 60_000);

  it('refuses a tarball that holds no Open Watcom for Linux, and leaves nothing behind', async () => {
    const src = join(work, 'not-ow');
    await mkdir(join(src, 'thing', 'binnt'), { recursive: true });
    await writeFile(join(src, 'thing', 'binnt', 'wcc386.exe'), 'MZ');
    const tarball = join(work, 'open-watcom-fake.tar.xz');
    await $({ quiet: true })`tar -cJf ${tarball} -C ${src} thing`;
    const cache = join(work, 'cache-fake');
    const error = await locateOpenWatcom({ env: { RETROLAB_OPENWATCOM_TARBALL: tarball }, cache }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenWatcomProvisionError);
    expect((error as Error).message).toMatch(
      /unpacked, but neither its top folder nor a folder in it holds binl64\/wcc386 \+ binl64\/wlink or binl\/wcc386 \+ binl\/wlink/,
    );
    expect(await readdir(join(cache, 'open-watcom'))).toEqual([]);
  }, 60_000);

  it('finds nothing (and so leaves the build to mingw) when no source is there', async () => {
    expect(await locateOpenWatcom({ env: {}, cache: join(work, 'cache-none'), sharedToolchains: join(work, 'none') })).toBeUndefined();
  });
});

describe('the pinned release download', () => {
  it('pins a dated release (never Current-build, which upstream replaces) with a sha256', () => {
    expect(OPEN_WATCOM_RELEASE.url).toMatch(
      /^https:\/\/github\.com\/open-watcom\/open-watcom-v2\/releases\/download\/\d{4}-\d{2}-\d{2}-Build\/ow-snapshot\.tar\.xz$/,
    );
    expect(OPEN_WATCOM_RELEASE.url).toContain(OPEN_WATCOM_RELEASE.tag);
    expect(OPEN_WATCOM_RELEASE.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a download whose sha256 is not the pinned one, and keeps no file', async () => {
    const cache = join(work, 'cache-dl');
    const release = { ...OPEN_WATCOM_RELEASE, url: `${baseUrl}/release.tar.xz`, fileName: 'ow.tar.xz' };
    const error = await downloadOpenWatcomRelease({ cache, release }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenWatcomProvisionError);
    const actual = createHash('sha256').update(served).digest('hex');
    expect((error as Error).message).toContain(
      `(${served.length} bytes) has sha256 ${actual}, not the pinned ${OPEN_WATCOM_RELEASE.sha256}: refused`,
    );
    expect(await readdir(join(cache, 'open-watcom', 'downloads'))).toEqual([]);
  });

  it('keeps a download whose sha256 matches', async () => {
    const cache = join(work, 'cache-dl-ok');
    const release = {
      ...OPEN_WATCOM_RELEASE,
      url: `${baseUrl}/release.tar.xz`,
      fileName: 'ow.tar.xz',
      sha256: createHash('sha256').update(served).digest('hex'),
    };
    const path = await downloadOpenWatcomRelease({ cache, release });
    expect(path).toBe(releaseDownloadPath(cache, release));
    expect(await sha256OfFile(path)).toBe(release.sha256);
  });

  it('says what failed when the server answers 404 or nothing answers', async () => {
    const cache = join(work, 'cache-dl-fail');
    const missing = await downloadOpenWatcomRelease({ cache, release: { ...OPEN_WATCOM_RELEASE, url: `${baseUrl}/nothing` } }).catch(
      (e: unknown) => e,
    );
    expect((missing as Error).message).toMatch(/downloading http:\/\/127\.0\.0\.1:\d+\/nothing failed: HTTP 404/);
    const closed = await downloadOpenWatcomRelease({ cache, release: { ...OPEN_WATCOM_RELEASE, url: closedUrl } }).catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(OpenWatcomProvisionError);
    expect((closed as Error).message).toMatch(
      /could not download Open Watcom from http:\/\/127\.0\.0\.1:\d+\/ow\.tar\.xz \(fetch failed: connect ECONNREFUSED/,
    );
    expect((closed as OpenWatcomProvisionError).fix).toMatch(/set RETROLAB_OPENWATCOM_TARBALL to it, or set WATCOM/);
  });

  it('reports Open Watcom missing, with the fix, when nothing is found and the download fails', async () => {
    const outcome = await provisionOpenWatcom({
      env: {},
      cache: join(work, 'cache-prov'),
      sharedToolchains: join(work, 'none'),
      release: { ...OPEN_WATCOM_RELEASE, url: closedUrl },
    });
    expect(outcome.kind).toBe('missing');
    if (outcome.kind !== 'missing') return;
    expect(outcome.reason).toMatch(
      /^no WATCOM, no tarball, and could not download Open Watcom from http:\/\/127\.0\.0\.1:\d+\/ow\.tar\.xz \(fetch failed: connect ECONNREFUSED/,
    );
    expect(outcome.fix).toMatch(/set WATCOM to an unpacked Open Watcom v2/);
  });
});
