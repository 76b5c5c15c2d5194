import { loadVmSpec } from '../config/load-vm-spec.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { licensedReadiness } from '../licensed/readiness.ts';
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
  if (spec.licensed && (target === 'win95' || target === 'win98' || target === 'winnt4')) {
    const readiness = await licensedReadiness(target, options.signal ? { signal: options.signal } : {});
    if (readiness.state !== 'ready') {
      throw new TargetSkippedError(target, `licensed target ${readiness.state}: ${readiness.reason}`, `${readiness.fix} (README: Licensed targets)`);
    }
    return startQemuTarget(spec, { ...options, image: readiness.image });
  }
  return startQemuTarget(spec, options);
}
