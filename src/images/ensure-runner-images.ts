import { join } from 'node:path';
import type { DockerClient } from '../docker/docker-client.ts';
import { LABEL } from '../docker/labels.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { ensureBaseImage, type DebianArch } from './base-image.ts';
import { hashDirectory, hashInputs } from './input-hash.ts';

export interface RunnerImageRecipe {
  name: keyof typeof RUNNER_IMAGES;
  ref: string;
  contextDir: string;
  baseArch: DebianArch;
}

export const RUNNER_RECIPES: RunnerImageRecipe[] = [
  { name: 'qemu', ref: RUNNER_IMAGES.qemu, contextDir: join(PROJECT_ROOT, 'docker', 'qemu-runner'), baseArch: 'amd64' },
  { name: 'wine', ref: RUNNER_IMAGES.wine, contextDir: join(PROJECT_ROOT, 'docker', 'wine-runner'), baseArch: 'i386' },
];

export interface EnsuredImage {
  ref: string;
  hashRef: string;
  built: boolean;
  durationMs: number;
}

function withoutTag(ref: string): string {
  return ref.slice(0, ref.lastIndexOf(':'));
}

/**
 * Builds one runner image unless an image for the same inputs (its build
 * context's bytes and its base image) already exists; either way `ref`
 * (…:latest) ends up pointing at it.
 */
export async function ensureRunnerImage(
  docker: DockerClient,
  recipe: RunnerImageRecipe,
  options: { signal?: AbortSignal; onProgress?: ProgressSink } = {},
): Promise<EnsuredImage> {
  const progress = options.onProgress ?? silentProgress;
  const started = Date.now();
  const base = await ensureBaseImage(docker, recipe.baseArch, options);
  const hash = hashInputs({ context: await hashDirectory(recipe.contextDir), base });
  const hashRef = `${withoutTag(recipe.ref)}:${hash}`;
  const scope = `image ${recipe.name}`;
  if (await docker.imageExists(hashRef, options)) {
    await docker.tagImage(hashRef, recipe.ref);
    progress({ kind: 'step', scope, message: `reusing ${hashRef}` });
    return { ref: recipe.ref, hashRef, built: false, durationMs: Date.now() - started };
  }
  progress({
    kind: 'step',
    scope,
    message: `building ${recipe.ref} from docker/${recipe.contextDir.split('/').pop()} on ${base} (several minutes the first time)`,
  });
  await docker.buildImage({
    contextDir: recipe.contextDir,
    tags: [hashRef, recipe.ref],
    buildArgs: { BASE: base },
    labels: { [LABEL.inputHash]: hash },
    onProgress: progress,
    signal: options.signal,
  });
  const durationMs = Date.now() - started;
  const sizeMb = Math.round((await docker.imageSize(hashRef)) / 1e6);
  progress({ kind: 'done', scope, message: `built ${hashRef} (${sizeMb} MB)`, durationMs });
  return { ref: recipe.ref, hashRef, built: true, durationMs };
}

export async function ensureRunnerImages(
  docker: DockerClient,
  options: { signal?: AbortSignal; onProgress?: ProgressSink } = {},
): Promise<EnsuredImage[]> {
  const results: EnsuredImage[] = [];
  for (const recipe of RUNNER_RECIPES) results.push(await ensureRunnerImage(docker, recipe, options));
  return results;
}
