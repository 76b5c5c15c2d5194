import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import type { DockerClient } from './docker-client.ts';
import { connectHost } from './docker-host.ts';
import { hostUrl, type HostAddress } from './host-address.ts';
import { newRunId } from './labels.ts';
import { startReaper } from './reaper.ts';

/** A host a run uses, connected. */
export interface RunHost {
  readonly address: HostAddress;
  readonly name: string;
  /** The engine URL (`unix:///var/run/docker.sock`, `ssh://user@host`). */
  readonly url: string;
  readonly slots: number;
  readonly docker: DockerClient;
}

/** Every host of a run; disposing it removes what the run left on each engine and closes the SSH sessions. */
export interface RunHosts extends AsyncDisposable {
  readonly hosts: readonly RunHost[];
  /** Containers this run still has on all hosts (what disposing removes). */
  readonly liveContainerCount: number;
  /** Containers this run started and removed so far, on all hosts. */
  readonly removedContainerCount: number;
}

/**
 * Connects to every host (one after another, so a bad host is named before
 * any work starts), sweeps what killed runs left on each engine, and starts
 * this process's reaper. All hosts share one run id, so every container of
 * the run carries the same labels wherever it runs.
 */
export async function connectRunHosts(
  addresses: readonly HostAddress[],
  options: { signal?: AbortSignal; onProgress?: ProgressSink; runId?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunHosts> {
  const progress = options.onProgress ?? silentProgress;
  const runId = options.runId ?? newRunId();
  const hosts: RunHost[] = [];
  const dispose = async () => {
    await Promise.allSettled(hosts.map((host) => host.docker[Symbol.asyncDispose]()));
  };
  try {
    await startReaper();
    for (const address of addresses) {
      const docker = await connectHost(address, {
        runId,
        signal: options.signal,
        env: options.env,
        onLost: (reason) => progress({ kind: 'warn', scope: address.name, message: `SSH connection lost: ${reason}` }),
      });
      hosts.push({ address, name: address.name, url: hostUrl(address), slots: address.slots ?? 1, docker });
      const swept = await docker.sweep({ signal: options.signal });
      const removed = swept.containers.length + swept.volumes.length + swept.paths.length + swept.processes.length;
      if (removed > 0) {
        progress({
          kind: 'step',
          scope: `sweep ${address.name}`,
          message: `removed what killed runs left: ${swept.containers.length} container(s), ${swept.volumes.length} volume(s), ${swept.paths.length} work folder(s), ${swept.processes.length} process(es)`,
        });
      }
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    hosts,
    get liveContainerCount() {
      return hosts.reduce((sum, host) => sum + host.docker.liveContainerCount, 0);
    },
    get removedContainerCount() {
      return hosts.reduce((sum, host) => sum + host.docker.removedContainerCount, 0);
    },
    [Symbol.asyncDispose]: dispose,
  };
}
