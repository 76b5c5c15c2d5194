import { parseNetstat } from '../netstat/netstat-parser.ts';
import { parseTcptab } from '../netstat/tcptab-parser.ts';
import type { TargetHandle } from '../targets/target-handle.ts';
import type { Snapshot } from '../verdict/scenario-observation.ts';
import { deployGuestApp } from './guest-deploy.ts';
import { ScenarioError } from './errors.ts';

/** tcptab's exit code where iphlpapi is missing (Win95): NETSTAT is then the only table. */
const TCPTAB_EXIT_UNAVAILABLE = 3;

/** The guest's socket table now: NETSTAT -AN always, tcptab where iphlpapi exists. */
export async function takeSnapshot(handle: TargetHandle, label: string, options: { signal?: AbortSignal } = {}): Promise<Snapshot> {
  const netstatText = await handle.agent.netstat(options);
  const snapshot: Snapshot = { netstat: { raw: netstatText, table: parseNetstat(netstatText, { origin: `${handle.target} NETSTAT (${label})` }) } };
  const tcptab = await deployGuestApp(handle, 'tcptab', options);
  const run = await handle.agent.exec(tcptab, { cwd: handle.guestWorkDir, timeoutMs: 30_000, ...options });
  if (run.exitCode === 0) {
    snapshot.tcptab = { raw: run.stdout, table: parseTcptab(run.stdout, { origin: `${handle.target} tcptab (${label})` }) };
  } else if (run.exitCode !== TCPTAB_EXIT_UNAVAILABLE) {
    throw new ScenarioError(`tcptab failed in the guest (exit ${run.exitCode}): ${(run.stderr || run.stdout).slice(0, 500)}`, handle.target, label);
  }
  return snapshot;
}
