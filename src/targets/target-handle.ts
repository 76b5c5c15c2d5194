import type { PatchRecord } from '../model/run-results.ts';
import type { Duplex } from 'node:stream';
import type { GuestAgent } from '../agent/guest-agent.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { GuestStart } from '../model/run-results.ts';

export type { GuestStart } from '../model/run-results.ts';

/** Where the guest reaches the scenario peer: a TCP server that closes its side after reading. */
export interface PeerEndpoint {
  host: string;
  port: number;
}

/**
 * A running guest with its agent connected. Every kind of target (a Wine
 * container, a QEMU guest) returns this, so scenario code never asks which it
 * has. Disposing it stops the guest and deletes what it wrote (its overlay,
 * its run folder).
 */
export interface TargetHandle extends AsyncDisposable {
  readonly target: TargetName;
  readonly agent: GuestAgent;
  readonly peer: PeerEndpoint;
  /** The guest folder programs are deployed to (exists when the handle is returned). */
  readonly guestWorkDir: string;
  /** Host folder for this run's artifacts (serial tail, screenshots, logs). */
  readonly artifactsDir: string;
  /** How this guest started (results.json records it per scenario). */
  readonly guest: GuestStart;
  /**
   * The agent's serial line itself (QEMU's COM1 socket), for the bench's raw
   * byte pump only: whoever writes to it while the agent client has a request
   * outstanding breaks that request. Absent where the line is not a QEMU serial port.
   */
  readonly serialLine?: Duplex;
  /** Saves what helps to debug a failure into artifactsDir; returns the files written. */
  collectArtifacts(reason: string): Promise<string[]>;
  /**
   * Runs one scenario under the target's watchdog. On QEMU targets the
   * spec's serialSilenceMs is the budget for an unanswered prompt request
   * with no byte on the line, and QMP's run state is polled: a guest that
   * stops answering fails the operation (its signal is aborted) with a typed
   * error carrying the serial tail and a screenshot, within that budget
   * rather than at the exec deadline. Absent where the agent's own deadlines
   * are the whole story (Wine).
   */
  watch?<T>(during: string, operation: (signal: AbortSignal) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

/**
 * `--patch-when saved-state`: a patch installed once, before the state every
 * scenario's guest starts from is taken. The targets only run `install` in
 * the guest they save; what a patch is stays in src/scenarios/patch.ts.
 */
export interface SavedStatePatch {
  /** Identifies the patch (its files' hash and install command): part of the saved state's key. */
  readonly key: string;
  /** Copies and installs the patch in the guest; throws (PatchInstallError) when the install fails. */
  install(guest: Pick<TargetHandle, 'agent' | 'guestWorkDir'>, options: { signal?: AbortSignal }): Promise<PatchRecord>;
}
