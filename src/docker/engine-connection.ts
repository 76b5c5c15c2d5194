import Docker from 'dockerode';
import { hostUrl, type HostAddress } from './host-address.ts';
import { SshSession } from './ssh-session.ts';

export interface EngineConnection {
  docker: Docker;
  endpoint: string;
  /** Closes the SSH session (nothing to close for a unix socket). */
  release?: () => Promise<void>;
  session?: SshSession;
}

/**
 * dockerode pointed at one host. An `ssh://` host gets one SSH session, host
 * key checked against known_hosts, that every API request of the run shares.
 */
export async function openEngine(
  address: HostAddress,
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; onLost?: (reason: string) => void } = {},
): Promise<EngineConnection> {
  const endpoint = hostUrl(address);
  if (address.kind === 'unix') return { docker: new Docker({ socketPath: address.socketPath }), endpoint };
  const session = await SshSession.connect(address, {
    signal: options.signal,
    env: options.env,
  });
  if (options.onLost) session.onLost(options.onLost);
  // Plain HTTP framing over the session's channels; host and port only fill the Host header.
  // (docker-modem takes `agent`; @types/dockerode does not list it.)
  const docker = new Docker({ protocol: 'http', host: address.host, port: address.port, agent: session.agent } as Docker.DockerOptions);
  return { docker, endpoint, session, release: () => session[Symbol.asyncDispose]() };
}
