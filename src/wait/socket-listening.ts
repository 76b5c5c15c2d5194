import { basename } from 'node:path';
import type { Duplex } from 'node:stream';
import { connectUnix } from '../util/unix-socket.ts';
import { StopWaiting, waitFor, type PollOptions, type WaitOptions } from './wait-for.ts';

export interface SocketListeningOptions extends WaitOptions, Pick<PollOptions, 'firstDelayMs' | 'maxDelayMs' | 'factor'> {
  /** What is awaited, for messages and progress (default: "<file> to accept a connection"). */
  what?: string;
  /**
   * Run before each attempt; what it throws ends the wait as it is (the
   * process that was to listen has exited: waiting longer cannot help).
   */
  check?: () => void | Promise<void>;
  /** How to connect (a socket on another machine, through SSH); a local unix socket by default. */
  connect?: (path: string, signal: AbortSignal) => Promise<Duplex>;
}

/**
 * Waits until a unix socket accepts a connection and returns it connected.
 * The file appears at bind(), a moment before listen(), so both a missing
 * file and a refusal mean "not yet".
 */
export async function waitForSocketListening(path: string, options: SocketListeningOptions): Promise<Duplex> {
  const check = options.check;
  return waitFor(
    options.what ?? `${basename(path)} to accept a connection`,
    async (signal) => {
      if (check) {
        try {
          await check();
        } catch (error) {
          throw new StopWaiting(error);
        }
      }
      return (options.connect ?? connectUnix)(path, signal);
    },
    options,
  );
}
