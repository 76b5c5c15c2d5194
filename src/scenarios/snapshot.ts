import { parseNetstat } from '../netstat/netstat-parser.ts';
import type { OsFamily } from '../os/os-family.ts';
import { parseTcptab } from '../netstat/tcptab-parser.ts';
import type { TargetHandle } from '../targets/target-handle.ts';
import type { Snapshot, TableCapture } from '../model/scenario-observation.ts';
import { deployGuestApp, guestPath } from './guest-deploy.ts';
import { ScenarioError } from './errors.ts';

/** tcptab's exit code where iphlpapi is missing (Win95): NETSTAT is then the only table. */
const TCPTAB_EXIT_UNAVAILABLE = 3;

/**
 * The guest's socket table now: NETSTAT -AN always, tcptab where iphlpapi exists.
 *
 * An exec or NETSTAT reply carries at most 32000 bytes of output, about 400
 * rows; Wine (and NT with MaxUserPort raised) can hold more, mostly TIME_WAIT
 * after a long run, so there both tables are written to a file in the guest
 * and fetched in chunks. Win9x's table has 100 slots by default (MSTCP
 * MaxConnections), whose NETSTAT fits in one reply; command.com's redirection
 * is already taken by the agent's own capture there.
 */
export async function takeSnapshot(
  handle: TargetHandle,
  label: string,
  options: { signal?: AbortSignal; family: Pick<OsFamily, 'snapshot'> },
): Promise<Snapshot> {
  const snapshot: Snapshot = { netstat: await captureNetstat(handle, label, options) };
  const tcptab = await captureTcptab(handle, label, options);
  if (tcptab !== undefined) snapshot.tcptab = tcptab;
  return snapshot;
}

/** NETSTAT -AN now, as printed and parsed. */
export async function captureNetstat(
  handle: TargetHandle,
  label: string,
  options: { signal?: AbortSignal; family: Pick<OsFamily, 'snapshot'> },
): Promise<TableCapture> {
  const call = { signal: options.signal };
  const { capture, netstatCommand } = options.family.snapshot;
  const netstatText =
    capture === 'agent' ? await handle.agent.netstat(call) : await captured(handle, netstatCommand, `netstat-${label}.txt`, call);
  return { raw: netstatText, table: parseNetstat(netstatText, { origin: `${handle.target} NETSTAT (${label})` }) };
}

/** tcptab's table now; undefined where the guest has no iphlpapi (Win95). */
export async function captureTcptab(
  handle: TargetHandle,
  label: string,
  options: { signal?: AbortSignal; family: Pick<OsFamily, 'snapshot'> },
): Promise<TableCapture | undefined> {
  const call = { signal: options.signal };
  const tcptab = await deployGuestApp(handle, 'tcptab', call);
  let run: { exitCode: number; text: string; stderr: string };
  if (options.family.snapshot.capture === 'agent') {
    const result = await handle.agent.exec(tcptab, { cwd: handle.guestWorkDir, timeoutMs: 30_000, ...call });
    if (result.stdoutTruncated)
      throw new ScenarioError(`tcptab's output was cut at the agent's reply limit (32000 bytes)`, handle.target, `snapshot ${label}`);
    run = { exitCode: result.exitCode, text: result.stdout, stderr: result.stderr };
  } else {
    const file = guestPath(handle, `tcptab-${label}.txt`);
    const result = await handle.agent.exec(`${tcptab} > ${file}`, { cwd: handle.guestWorkDir, timeoutMs: 30_000, ...call });
    run = { exitCode: result.exitCode, text: (await handle.agent.getFile(file, call)).toString('latin1'), stderr: result.stderr };
    await handle.agent.deleteFile(file, { missingOk: true, ...call });
  }
  if (run.exitCode === 0) return { raw: run.text, table: parseTcptab(run.text, { origin: `${handle.target} tcptab (${label})` }) };
  if (run.exitCode === TCPTAB_EXIT_UNAVAILABLE) return undefined;
  throw new ScenarioError(
    `tcptab failed in the guest (exit ${run.exitCode}): ${(run.stderr || run.text).slice(0, 500)}`,
    handle.target,
    `snapshot ${label}`,
  );
}

/** Runs `command` with its output redirected to a guest file (cmd.exe: NT and Wine), fetches the file and removes it. */
async function captured(handle: TargetHandle, command: string, file: string, call: { signal?: AbortSignal }): Promise<string> {
  const path = guestPath(handle, file);
  const result = await handle.agent.exec(`${command} > ${path}`, { cwd: handle.guestWorkDir, timeoutMs: 60_000, ...call });
  if (result.exitCode !== 0) {
    throw new ScenarioError(
      `${command} failed in the guest (exit ${result.exitCode}): ${(result.stderr || result.stdout).slice(0, 500)}`,
      handle.target,
      `snapshot (${file})`,
    );
  }
  const text = (await handle.agent.getFile(path, call)).toString('latin1');
  await handle.agent.deleteFile(path, { missingOk: true, ...call });
  return text;
}
