import { connectHost } from '../docker/docker-host.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { DEFAULT_ENGINE_SOCKET } from '../docker/host-address.ts';
import type { RunHost } from '../docker/run-hosts.ts';
import { settleHostFiles } from '../docker/shared-files.ts';
import { errorMessage } from '../errors.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { ensureBaseImage, type DebianArch } from './base-image.ts';
import { ensureRunnerImage, RUNNER_RECIPES } from './ensure-runner-images.ts';
import { ensureWineVmGuest } from './wine-vm-disk.ts';

/** One image a host needs: `hashRef` names its inputs (the same ref on every engine), `ref` is what containers use. */
interface NeededImage {
  hashRef: string;
  ref?: string;
}

const BASE_ARCHES: readonly DebianArch[] = ['amd64', 'i386'];

/**
 * The images every host needs, made sure of on `source` (the orchestrator's
 * engine): the Debian base images (the wine-vm guest's cache key is made
 * from one) and the runner images, each tagged by the hash of its inputs.
 */
async function neededImages(source: DockerClient, options: { signal?: AbortSignal; onProgress?: ProgressSink }): Promise<NeededImage[]> {
  const images: NeededImage[] = [];
  for (const arch of BASE_ARCHES) images.push({ hashRef: await ensureBaseImage(source, arch, options) });
  for (const recipe of RUNNER_RECIPES) {
    const ensured = await ensureRunnerImage(source, recipe, options);
    images.push({ hashRef: ensured.hashRef, ref: ensured.ref });
  }
  return images;
}

/** `docker save` on one engine streamed into `docker load` on another: nothing lands on the orchestrator's disk. */
export async function copyImage(from: DockerClient, to: DockerClient, ref: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  const tar = await from.saveImage(ref, options);
  try {
    await to.loadImage(tar, options);
  } finally {
    tar.destroy();
  }
  if (!(await to.imageExists(ref, options))) throw new Error(`docker load on ${to.endpoint} did not produce ${ref}`);
}

/**
 * Makes sure every host has the images a run needs, keyed by input hash: an
 * image the host already has under its hash is only tagged; a missing one is
 * copied from the orchestrator's engine (the local socket, a host of the run
 * or not); with no local engine, each host builds its own. Then each
 * host's files are settled: this machine's, or a cache folder of its own
 * over SSH (settleHostFiles).
 */
export async function ensureImagesOnHosts(
  hosts: readonly RunHost[],
  options: { signal?: AbortSignal; onProgress?: ProgressSink; wineVmGuest?: boolean } = {},
): Promise<void> {
  const progress = options.onProgress ?? silentProgress;
  const call = options.signal ? { signal: options.signal } : {};
  const isLocal = (host: RunHost) => host.address.kind === 'unix' && host.address.socketPath === DEFAULT_ENGINE_SOCKET;
  const remote = hosts.filter((host) => !isLocal(host));
  if (remote.length === 0) return;
  const inRun = hosts.find(isLocal);
  let opened: DockerClient | undefined;
  if (!inRun) {
    opened = await connectHost({ kind: 'unix', name: 'local', socketPath: DEFAULT_ENGINE_SOCKET }, call).catch((error: unknown) => {
      progress({
        kind: 'step',
        scope: 'images',
        message: `no local engine to copy images from (${errorMessage(error)}): each host builds its own`,
      });
      return undefined;
    });
  }
  try {
    const source = inRun?.docker ?? opened;
    if (!source) {
      for (const host of remote) {
        for (const recipe of RUNNER_RECIPES) await ensureRunnerImage(host.docker, recipe, { ...call, onProgress: progress });
        await settleHostFiles(host.docker, host.name, {
          ...call,
          onProgress: progress,
          cacheDir: host.address.kind === 'ssh' ? host.address.cacheDir : undefined,
        });
      }
      return;
    }
    const images = await neededImages(source, { ...call, onProgress: silentProgress });
    for (const host of remote) {
      for (const image of images) {
        if (!(await host.docker.imageExists(image.hashRef, call))) {
          const started = Date.now();
          const sizeMb = Math.round((await source.imageSize(image.hashRef)) / 1e6);
          progress({
            kind: 'step',
            scope: `images ${host.name}`,
            message: `copying ${image.hashRef} (${sizeMb} MB) from the local engine`,
          });
          await copyImage(source, host.docker, image.hashRef, call);
          progress({ kind: 'done', scope: `images ${host.name}`, message: `copied ${image.hashRef}`, durationMs: Date.now() - started });
        }
        if (image.ref) await host.docker.tagImage(image.hashRef, image.ref);
      }
      await settleHostFiles(host.docker, host.name, {
        ...call,
        onProgress: progress,
        cacheDir: host.address.kind === 'ssh' ? host.address.cacheDir : undefined,
      });
    }
    // The wine-vm guest is built (from Debian's packages) by the engine that can reach a mirror: this machine's.
    // The hosts then find it in the cache under the same input hash, since they have the same base images.
    if (options.wineVmGuest) await ensureWineVmGuest({ docker: source, signal: options.signal, onProgress: progress });
  } finally {
    await opened?.[Symbol.asyncDispose]();
  }
}
