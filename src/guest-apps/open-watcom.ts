import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../errors.ts';
import { silentProgress, type ProgressSink } from '../report/progress.ts';
import { trackProgress, withProgress } from '../report/progress-tracker.ts';
import { probeHostCommand, tail } from '../util/host-command.ts';
import { cacheDir, PROJECT_ROOT } from '../util/paths.ts';
import { OpenWatcomProvisionError } from './errors.ts';
import { OPEN_WATCOM_RELEASE, type OpenWatcomRelease } from './open-watcom-release.ts';

/**
 * Where retrolab finds Open Watcom, without a package registry, in this order:
 *   1. `WATCOM`, when the user set it;
 *   2. the tarball named by `RETROLAB_OPENWATCOM_TARBALL`, or else the one in
 *      `../shared/toolchains/` when that folder sits beside the checkout;
 *   3. the pinned official release, once `npm run setup` downloaded it (only
 *      setup goes to the network; a build never does).
 * Tarballs are unpacked once into the cache, in a folder named by their sha256,
 * so a changed tarball is a new folder and an unchanged one costs a hash.
 */
export interface OpenWatcomInstall {
  /** The folder WATCOM points at (holds h/, lib386/ and the host binaries). */
  root: string;
  /** The host binaries: wcc386, wlink, and wlink.lnk (wlink finds that file on PATH). */
  bin: string;
  from: 'WATCOM' | 'RETROLAB_OPENWATCOM_TARBALL' | 'shared toolchains' | 'release download';
  /** The tarball it was unpacked from and its sha256 (not for WATCOM). */
  tarball?: string;
  sha256?: string;
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** The cache root; cacheDir() by default. */
  cache?: string;
  /** The shared toolchains folder; `../shared/toolchains` beside the checkout by default. */
  sharedToolchains?: string;
}

export const TARBALL_ENV = 'RETROLAB_OPENWATCOM_TARBALL';
const SCOPE = 'open-watcom';
/** Host binary folders of Open Watcom for Linux: 64-bit first. */
const HOST_BIN_DIRS = ['binl64', 'binl'] as const;

export function defaultSharedToolchains(): string {
  return resolve(PROJECT_ROOT, '..', 'shared', 'toolchains');
}

export function openWatcomCache(cache: string = cacheDir()): string {
  return join(cache, 'open-watcom');
}

/** How to give retrolab an Open Watcom; printed wherever one is missing. */
export const OPEN_WATCOM_FIX =
  `set WATCOM to an unpacked Open Watcom v2 (the folder holding binl64/ and h/), or ${TARBALL_ENV} to an Open Watcom v2 Linux tarball, ` +
  `or put one in ../shared/toolchains/ beside the checkout, then run npm run setup (it also tries ${OPEN_WATCOM_RELEASE.url})`;

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** The host binary folder of an Open Watcom root, or undefined when it has no wcc386 + wlink for Linux. */
export async function hostBinDir(root: string): Promise<string | undefined> {
  for (const dir of HOST_BIN_DIRS) {
    const bin = join(root, dir);
    if ((await isExecutable(join(bin, 'wcc386'))) && (await isExecutable(join(bin, 'wlink')))) return bin;
  }
  return undefined;
}

/** The Open Watcom root inside an unpacked tarball: the folder itself or one level down (`open-watcom-v2-…/`). */
async function findRoot(dir: string): Promise<{ root: string; bin: string } | undefined> {
  const here = await hostBinDir(dir);
  if (here) return { root: dir, bin: here };
  for (const entry of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const bin = await hostBinDir(join(dir, entry));
    if (bin) return { root: join(dir, entry), bin };
  }
  return undefined;
}

export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { signal }), hash);
  return hash.digest('hex');
}

interface UnpackedManifest {
  sha256: string;
  tarball: string;
  /** Relative to the unpack folder. */
  root: string;
}

/**
 * Unpacks a tarball into `<cache>/open-watcom/<sha256>/` unless it is there
 * already. Unpacked beside the final folder and renamed, so a half-unpacked
 * tree (Ctrl-C, full disk) is never taken for a toolchain.
 */
export async function unpackOpenWatcom(
  tarball: string,
  from: OpenWatcomInstall['from'],
  options: { cache?: string; signal?: AbortSignal; onProgress?: ProgressSink } = {},
): Promise<OpenWatcomInstall> {
  const fix = `point ${TARBALL_ENV} at an Open Watcom v2 tarball for Linux (e.g. ../shared/toolchains/open-watcom-v2-…-linux-x64.tar.xz), or unset it`;
  const info = await stat(tarball).catch(() => undefined);
  if (!info?.isFile()) throw new OpenWatcomProvisionError(`the Open Watcom tarball ${tarball} does not exist or is not a file`, tarball, fix);
  const sha256 = await sha256OfFile(tarball, options.signal);
  const base = openWatcomCache(options.cache);
  const dir = join(base, sha256);
  const manifestPath = join(dir, 'retrolab-unpacked.json');
  const existing = await readFile(manifestPath, 'utf8').then((t) => JSON.parse(t) as UnpackedManifest, () => undefined);
  if (existing?.sha256 === sha256) {
    const root = join(dir, existing.root);
    const bin = await hostBinDir(root);
    if (bin) return { root, bin, from, tarball, sha256 };
  }
  const started = Date.now();
  options.onProgress?.({ kind: 'step', scope: SCOPE, message: `unpacking ${tarball} (sha256 ${sha256.slice(0, 12)}…) into ${dir}` });
  await mkdir(base, { recursive: true });
  const tmp = join(base, `${sha256}.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    const result = await withProgress(options.onProgress ?? silentProgress, { scope: SCOPE, what: 'unpacking' }, () =>
      probeHostCommand('tar', ['-xf', tarball, '-C', tmp, '--no-same-owner'], { signal: options.signal }),
    );
    if (result.exitCode !== 0) {
      throw new OpenWatcomProvisionError(`tar could not unpack ${tarball} (exit ${result.exitCode ?? result.signal}): ${tail(result.stderr)}`, tarball, fix);
    }
    const found = await findRoot(tmp);
    if (!found) {
      throw new OpenWatcomProvisionError(
        `${tarball} unpacked, but neither its top folder nor a folder in it holds ${HOST_BIN_DIRS.map((d) => `${d}/wcc386 + ${d}/wlink`).join(' or ')} (Open Watcom for a Linux host)`,
        tarball,
        fix,
      );
    }
    const manifest: UnpackedManifest = { sha256, tarball, root: found.root.slice(tmp.length + 1) };
    await writeFile(join(tmp, 'retrolab-unpacked.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir).catch(async (error: unknown) => {
      // Another process unpacked the same tarball at the same moment: theirs is as good as ours.
      if (!(await isDirectory(dir))) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const unpacked = JSON.parse(await readFile(manifestPath, 'utf8')) as UnpackedManifest;
  const root = join(dir, unpacked.root);
  const bin = await hostBinDir(root);
  if (!bin) throw new OpenWatcomProvisionError(`the unpacked Open Watcom in ${dir} lost its binaries`, tarball, `delete ${dir} and try again`);
  options.onProgress?.({ kind: 'done', scope: SCOPE, message: `Open Watcom unpacked: ${root}`, durationMs: Date.now() - started });
  return { root, bin, from, tarball, sha256 };
}

/** The newest-named Open Watcom tarball in the shared toolchains folder, if any. */
async function sharedTarball(folder: string): Promise<string | undefined> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const tarballs = names.filter((n) => /^open-watcom.*\.tar\.(xz|gz|bz2)$/.test(n)).sort();
  const last = tarballs.at(-1);
  return last === undefined ? undefined : join(folder, last);
}

export function releaseDownloadPath(cache: string = cacheDir(), release: OpenWatcomRelease = OPEN_WATCOM_RELEASE): string {
  return join(openWatcomCache(cache), 'downloads', release.fileName);
}

/**
 * Finds Open Watcom in the order above, unpacking a tarball into the cache
 * when needed. Undefined when there is none (the build then uses mingw-w64).
 * Throws when the user named one (WATCOM, RETROLAB_OPENWATCOM_TARBALL) that
 * cannot be used: silently building with another compiler would hide that.
 */
export async function locateOpenWatcom(options: LocateOptions = {}): Promise<OpenWatcomInstall | undefined> {
  const env = options.env ?? process.env;
  const common = { cache: options.cache, signal: options.signal, onProgress: options.onProgress };
  const watcom = env.WATCOM;
  if (watcom !== undefined && watcom !== '') {
    const bin = await hostBinDir(watcom);
    if (bin) return { root: watcom, bin, from: 'WATCOM' };
    throw new OpenWatcomProvisionError(
      `WATCOM is set to ${watcom}, but neither ${watcom}/binl64 nor ${watcom}/binl holds wcc386 and wlink`,
      'WATCOM',
      'point WATCOM at an unpacked Open Watcom v2 for Linux, or unset it (retrolab then uses the tarball or mingw-w64)',
    );
  }
  const named = env[TARBALL_ENV];
  if (named !== undefined && named !== '') return unpackOpenWatcom(resolve(named), 'RETROLAB_OPENWATCOM_TARBALL', common);
  const shared = await sharedTarball(options.sharedToolchains ?? defaultSharedToolchains());
  if (shared) return unpackOpenWatcom(shared, 'shared toolchains', common);
  const downloaded = releaseDownloadPath(options.cache);
  if (await stat(downloaded).then((s) => s.isFile(), () => false)) return unpackOpenWatcom(downloaded, 'release download', common);
  return undefined;
}

/**
 * Downloads the pinned release into the cache and checks its sha256. Throws
 * OpenWatcomProvisionError saying what failed (no network, HTTP status, hash).
 * `headersTimeoutMs` bounds the wait for an answer, so a closed network fails
 * in seconds rather than hanging setup.
 */
export async function downloadOpenWatcomRelease(
  options: { cache?: string; signal?: AbortSignal; onProgress?: ProgressSink; release?: OpenWatcomRelease; headersTimeoutMs?: number } = {},
): Promise<string> {
  const release = options.release ?? OPEN_WATCOM_RELEASE;
  const target = releaseDownloadPath(options.cache, release);
  const fix = `download ${release.url} yourself (sha256 ${release.sha256}) and set ${TARBALL_ENV} to it, or set WATCOM to an unpacked Open Watcom v2`;
  const started = Date.now();
  options.onProgress?.({ kind: 'step', scope: SCOPE, message: `downloading Open Watcom ${release.tag} from ${release.url}` });
  await mkdir(join(target, '..'), { recursive: true });
  const part = `${target}.${process.pid}.part`;
  const answered = AbortSignal.any([AbortSignal.timeout(options.headersTimeoutMs ?? 30_000), ...(options.signal ? [options.signal] : [])]);
  let response: Response;
  try {
    response = await fetch(release.url, { signal: answered, redirect: 'follow' });
  } catch (error) {
    options.signal?.throwIfAborted();
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new OpenWatcomProvisionError(`could not download Open Watcom from ${release.url} (${errorMessage(error)}${cause})`, release.url, fix, { cause: error });
  }
  if (!response.ok || response.body === null) {
    throw new OpenWatcomProvisionError(`downloading ${release.url} failed: HTTP ${response.status} ${response.statusText}`, release.url, fix);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const length = Number(response.headers.get('content-length'));
  using progressed = trackProgress(options.onProgress ?? silentProgress, {
    scope: SCOPE,
    what: 'downloading',
    unit: 'MiB',
    done: 0,
    total: length > 0 ? Math.round(length / 2 ** 20) : undefined,
  });
  try {
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      progressed.set({ done: Math.floor(bytes / 2 ** 20) });
    });
    await pipeline(body, createWriteStream(part), { signal: options.signal });
    const digest = hash.digest('hex');
    if (digest !== release.sha256) {
      throw new OpenWatcomProvisionError(
        `the download of ${release.url} (${bytes} bytes) has sha256 ${digest}, not the pinned ${release.sha256}: refused`,
        release.url,
        fix,
      );
    }
    await rename(part, target);
  } finally {
    await rm(part, { force: true });
  }
  options.onProgress?.({ kind: 'done', scope: SCOPE, message: `downloaded ${target} (${(bytes / 2 ** 20).toFixed(1)} MiB, sha256 checked)`, durationMs: Date.now() - started });
  return target;
}

export type ProvisionOutcome =
  | { kind: 'found'; install: OpenWatcomInstall }
  | { kind: 'missing'; reason: string; fix: string };

/**
 * What `npm run setup` does: find or unpack Open Watcom, else try the pinned
 * release download (`download: false` skips it), else report it missing with
 * the fix. A missing Open Watcom is not an error: the guest programs then
 * build with mingw-w64.
 */
export async function provisionOpenWatcom(options: LocateOptions & { download?: boolean; release?: OpenWatcomRelease; headersTimeoutMs?: number } = {}): Promise<ProvisionOutcome> {
  const found = await locateOpenWatcom(options);
  if (found) return { kind: 'found', install: found };
  if (options.download === false) return { kind: 'missing', reason: 'no WATCOM, no tarball, and the release download is turned off', fix: OPEN_WATCOM_FIX };
  const common = { cache: options.cache, signal: options.signal, onProgress: options.onProgress };
  try {
    const tarball = await downloadOpenWatcomRelease({ ...common, release: options.release, headersTimeoutMs: options.headersTimeoutMs });
    return { kind: 'found', install: await unpackOpenWatcom(tarball, 'release download', common) };
  } catch (error) {
    options.signal?.throwIfAborted();
    if (!(error instanceof OpenWatcomProvisionError)) throw error;
    return { kind: 'missing', reason: `no WATCOM, no tarball, and ${error.message.split('\n')[0]}`, fix: OPEN_WATCOM_FIX };
  }
}
