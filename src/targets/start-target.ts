import { loadVmSpec, resolveFileSource } from '../config/load-vm-spec.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import type { ProgressSink } from '../report/progress.ts';
import { TargetSkippedError } from './errors.ts';
import { startQemuTarget } from './qemu-target.ts';
import type { TargetHandle } from './target-handle.ts';
import { startWineTarget } from './wine-target.ts';

export interface StartOptions {
  docker: DockerClient;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

/**
 * Starts any target and returns its handle with the agent connected. Throws
 * TargetSkippedError for a licensed target without a configured image.
 */
export async function startTarget(target: TargetName, options: StartOptions): Promise<TargetHandle> {
  const spec = await loadVmSpec(target, options.signal ? { signal: options.signal } : {});
  if (spec.kind === 'wine-container') return startWineTarget(options);
  if (spec.licensed) {
    const image = resolveFileSource(spec.disk.image);
    if (!image.ok) throw new TargetSkippedError(target, `licensed target: ${image.reason}`, `${image.fix} (see README: Licensed targets)`);
  }
  return startQemuTarget(spec, options);
}
