import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runHostCommand, streamHostCommand } from '../util/host-command.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { BASE_IMAGES } from '../docker/image-names.ts';
import { LABEL } from '../docker/labels.ts';
import { PrerequisiteError, RetrolabError } from '../errors.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { trackProgress } from '../report/progress-tracker.ts';
import { debianMirror } from './debian-mirror.ts';
import { hashInputs } from './input-hash.ts';
import { cacheDir } from '../util/paths.ts';

export type DebianArch = 'amd64' | 'i386';

/** Bump when the bootstrap recipe below changes, so cached base images are rebuilt. */
const RECIPE_VERSION = 1;
const SUITE = 'bookworm';
const PULL_REFS: Record<DebianArch, string> = {
  amd64: 'debian:bookworm-slim',
  i386: 'i386/debian:bookworm-slim',
};

export class BaseImageError extends RetrolabError {}

/**
 * Returns a Debian bookworm base image for `arch`, tagged with the hash of its
 * inputs: reused when present, else pulled when a registry answers, else
 * bootstrapped from Debian's packages with debootstrap and `docker import`.
 */
export async function ensureBaseImage(
  docker: DockerClient,
  arch: DebianArch,
  options: { signal?: AbortSignal; onProgress?: ProgressSink; allowPull?: boolean } = {},
): Promise<string> {
  const progress = options.onProgress ?? silentProgress;
  const mirror = await debianMirror();
  const inputs = { recipe: RECIPE_VERSION, suite: SUITE, arch, variant: 'minbase', mirror };
  const hash = hashInputs(inputs);
  const ref = `${BASE_IMAGES[arch]}:${hash}`;
  const scope = `base ${arch}`;
  if (await docker.imageExists(ref, options)) {
    progress({ kind: 'step', scope, message: `reusing ${ref}` });
    return ref;
  }
  const started = Date.now();
  if (options.allowPull !== false && process.env.RETROLAB_NO_PULL !== '1') {
    progress({ kind: 'step', scope, message: `trying to pull ${PULL_REFS[arch]}` });
    if (
      await docker.tryPull(PULL_REFS[arch], {
        signal: AbortSignal.any([AbortSignal.timeout(30_000), ...(options.signal ? [options.signal] : [])]),
      })
    ) {
      await docker.tagImage(PULL_REFS[arch], ref);
      progress({ kind: 'done', scope, message: `pulled ${PULL_REFS[arch]} as ${ref}`, durationMs: Date.now() - started });
      return ref;
    }
  }
  progress({ kind: 'step', scope, message: `no registry answers; bootstrapping Debian ${SUITE} ${arch} from ${mirror} (about 1–2 min)` });
  await bootstrapAndImport(docker, arch, mirror, ref, hash, { ...options, onProgress: progress });
  progress({ kind: 'done', scope, message: `bootstrapped ${ref}`, durationMs: Date.now() - started });
  return ref;
}

async function bootstrapAndImport(
  docker: DockerClient,
  arch: DebianArch,
  mirror: string,
  ref: string,
  hash: string,
  options: { signal?: AbortSignal; onProgress: ProgressSink },
): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new PrerequisiteError(`Bootstrapping the ${arch} base image needs root (debootstrap)`, 'run `npm run setup` as root once');
  }
  const work = join(cacheDir(), 'base', `${arch}-${hash}`);
  const rootfs = join(work, 'rootfs');
  const debs = join(cacheDir(), 'debootstrap-debs', arch);
  await rm(work, { recursive: true, force: true });
  await mkdir(rootfs, { recursive: true });
  await mkdir(debs, { recursive: true });
  const call = { signal: options.signal };
  try {
    const debootstrap = streamHostCommand(
      'debootstrap',
      ['--variant=minbase', `--arch=${arch}`, `--cache-dir=${debs}`, SUITE, rootfs, mirror],
      call,
    );
    {
      using progressed = trackProgress(options.onProgress, { scope: `base ${arch}`, what: 'debootstrap' });
      for await (const line of debootstrap.lines()) {
        if (!line.trim()) continue;
        progressed.set({ detail: line.trim().slice(0, 200) });
        options.onProgress({ kind: 'log', scope: `base ${arch}`, line });
      }
      await debootstrap.done;
    }
    await runHostCommand(
      'rm',
      ['-rf', ...['var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man', 'usr/share/locale'].map((d) => join(rootfs, d))],
      call,
    );
    await runHostCommand('mkdir', ['-p', join(rootfs, 'var/lib/apt/lists/partial'), join(rootfs, 'var/cache/apt/archives/partial')], call);
    const tar = streamHostCommand('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], call);
    await docker.importImage(tar.stdout, ref, {
      labels: { [LABEL.inputHash]: hash },
      signal: options.signal,
      onProgress: options.onProgress,
    });
    await tar.done;
  } catch (error) {
    throw new BaseImageError(`Bootstrapping the Debian ${SUITE} ${arch} base image failed (work dir ${work})`, {
      cause: error,
      context: { arch, mirror, work },
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
