import { errorMessage } from '../errors.ts';
import { DockerClient } from './docker-client.ts';
import { openEngine } from './engine-connection.ts';
import { explainTcpFailure } from './engine-tls.ts';
import { DockerUnavailableError } from './errors.ts';
import type { HostAddress } from './host-address.ts';
import { newRunId } from './labels.ts';
import { SshConnectError } from './ssh-session.ts';

export interface ConnectHostOptions {
  signal?: AbortSignal;
  runId?: string;
  env?: NodeJS.ProcessEnv;
  /** Told when an SSH host's connection drops during the run. */
  onLost?: (reason: string) => void;
}

/**
 * A DockerClient for one host whose engine answered a ping. Disposing it
 * removes its containers (and its reaper container, on an engine that has
 * one) and then closes its SSH session or TCP connections.
 */
export async function connectHost(address: HostAddress, options: ConnectHostOptions = {}): Promise<DockerClient> {
  const engine = await openEngine(address, options);
  const client = new DockerClient(engine.docker, engine.endpoint, options.runId ?? newRunId(), engine.release, { reaperSocket: engine.reaperSocket, session: engine.session });
  try {
    await client.ping({ signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(15_000)]) : AbortSignal.timeout(15_000) });
  } catch (error) {
    await engine.release?.();
    if (address.kind === 'unix') throw new DockerUnavailableError(engine.endpoint, error);
    if (address.kind === 'tcp') throw explainTcpFailure(engine.endpoint, engine.tls, error);
    throw new SshConnectError(
      address.name,
      `logged in, but no Docker engine answers at ${address.socketPath} there: ${errorMessage(error)}`,
      `start dockerd on ${address.host}, or name its socket in the URL (ssh://${address.user}@${address.host}/path/to/docker.sock)`,
      error,
    );
  }
  return client;
}
