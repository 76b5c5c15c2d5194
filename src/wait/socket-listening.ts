import { connect, type Socket } from 'node:net';
import { basename } from 'node:path';
import { StopWaiting, waitFor, type PollOptions, type WaitOptions } from './wait-for.ts';

export interface SocketListeningOptions extends WaitOptions, Pick<PollOptions, 'firstDelayMs' | 'maxDelayMs' | 'factor'> {
  /** What is awaited, for messages and progress (default: "<file> to accept a connection"). */
  what?: string;
  /**
   * Run before each attempt; what it throws ends the wait as it is (the
   * process that was to listen has exited: waiting longer cannot help).
   */
  check?: () => void | Promise<void>;
}

/**
 * Waits until a unix socket accepts a connection and returns it connected.
 * The file appears at bind(), a moment before listen(), so both a missing
 * file and a refusal mean "not yet".
 */
export async function waitForSocketListening(path: string, options: SocketListeningOptions): Promise<Socket> {
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
      return connectUnix(path, signal);
    },
    options,
  );
}

function connectUnix(path: string, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onAbort = () => socket.destroy(signal.reason as Error);
    const onError = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    // Connected, the socket is the caller's, and so are its later errors.
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
