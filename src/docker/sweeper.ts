import type Docker from 'dockerode';
import { hostname } from 'node:os';
import { LABEL, PRODUCT } from './labels.ts';
import { CLEANUP_CALL_MS } from './started-container.ts';

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

/**
 * Removes retrolab containers and volumes whose owning process has died (a killed run). Each engine call
 * has its own deadline (`callMs`, default CLEANUP_CALL_MS): an engine that accepts and never answers
 * fails the sweep instead of holding it.
 */
export async function sweepLeftovers(
  docker: Docker,
  currentRunId: string,
  options: { signal?: AbortSignal; callMs?: number } = {},
): Promise<SweepReport> {
  const report: SweepReport = { containers: [], volumes: [] };
  const callMs = options.callMs ?? CLEANUP_CALL_MS;
  const deadline = () => AbortSignal.any([AbortSignal.timeout(callMs), ...(options.signal ? [options.signal] : [])]);
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.product}=${PRODUCT}`] },
    abortSignal: deadline(),
  });
  for (const c of containers) {
    if (!ownerIsGone(c.Labels, currentRunId)) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true, abortSignal: deadline() });
      report.containers.push(c.Id);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.product}=${PRODUCT}`] }, abortSignal: deadline() });
  for (const v of Volumes ?? []) {
    if (!ownerIsGone(v.Labels ?? {}, currentRunId)) continue;
    try {
      await docker.getVolume(v.Name).remove({ force: true, abortSignal: deadline() });
      report.volumes.push(v.Name);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }
  return report;
}
