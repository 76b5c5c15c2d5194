import type Docker from 'dockerode';
import { hostname } from 'node:os';
import { LABEL, PRODUCT } from './labels.ts';

export interface SweepReport {
  containers: string[];
  volumes: string[];
}

function ownerIsGone(labels: Record<string, string>, currentRunId: string): boolean {
  if (labels[LABEL.runId] === currentRunId) return false;
  // A process on another host cannot be checked from here; its own next run sweeps it.
  if (labels[LABEL.ownerHost] !== hostname()) return false;
  const pid = Number(labels[LABEL.ownerPid]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes retrolab containers and volumes whose owning process has died (a killed run). */
export async function sweepLeftovers(
  docker: Docker,
  currentRunId: string,
  options: { signal?: AbortSignal } = {},
): Promise<SweepReport> {
  const report: SweepReport = { containers: [], volumes: [] };
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.product}=${PRODUCT}`] },
    abortSignal: options.signal,
  });
  for (const c of containers) {
    if (!ownerIsGone(c.Labels, currentRunId)) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      report.containers.push(c.Id);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.product}=${PRODUCT}`] } });
  for (const v of Volumes ?? []) {
    if (!ownerIsGone(v.Labels ?? {}, currentRunId)) continue;
    try {
      await docker.getVolume(v.Name).remove({ force: true });
      report.volumes.push(v.Name);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }
  return report;
}
