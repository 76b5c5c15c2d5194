import Docker from 'dockerode';
import { DockerClient } from './docker-client.ts';
import { DockerUnavailableError } from './errors.ts';
import { hostUrl, type HostAddress } from './host-address.ts';
import { newRunId } from './labels.ts';
import { SshConnectError, SshSession } from './ssh-session.ts';
import { errorMessage } from '../errors.ts';

export interface ConnectHostOptions {
  signal?: AbortSignal;
  runId?: string;
  env?: NodeJS.ProcessEnv;
  /** Told when an SSH host's connection drops during the run (the scheduler stops giving it work). */
  onLost?: (reason: string) => void;
}

/**
 * A DockerClient for one host. An `ssh://` host gets one SSH session, host
 * key checked, that every API request of the run shares; disposing the
 * client removes its containers and then closes the session.
 */
export async function connectHost(address: HostAddress, options: ConnectHostOptions = {}): Promise<DockerClient> {
  const runId = options.runId ?? newRunId();
  const endpoint = hostUrl(address);
  let docker: Docker;
  let session: SshSession | undefined;
  if (address.kind === 'unix') {
    docker = new Docker({ socketPath: address.socketPath });
  } else {
    session = await SshSession.connect(address, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    if (options.onLost) session.onLost(options.onLost);
    // Plain HTTP framing over the session's channels; the host and port only fill the Host header.
    // (docker-modem takes `agent`; @types/dockerode does not list it.)
    docker = new Docker({ protocol: 'http', host: address.host, port: address.port, agent: session.agent } as Docker.DockerOptions);
  }
  const client = new DockerClient(docker, endpoint, runId, session ? () => session[Symbol.asyncDispose]() : undefined);
  try {
    await client.ping({ signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(15_000)]) : AbortSignal.timeout(15_000) });
  } catch (error) {
    await session?.[Symbol.asyncDispose]();
    if (address.kind === 'unix') throw new DockerUnavailableError(endpoint, error);
    throw new SshConnectError(
      address.name,
      `logged in, but no Docker engine answers at ${address.socketPath} there: ${errorMessage(error)}`,
      `start dockerd on ${address.host}, or name its socket in the URL (ssh://${address.user}@${address.host}/path/to/docker.sock)`,
      error,
    );
  }
  return client;
}
