import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

/** A connected unix socket; a missing file or a refusal rejects (callers waiting for a listener retry). */
export function connectUnix(path: string, signal: AbortSignal | undefined): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const socket = connect(path);
    const onAbort = () => socket.destroy(signal?.reason as Error);
    const onError = (error: Error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    // Connected, the socket is the caller's, and so are its later errors.
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
