import Docker from 'dockerode';
import { Agent as HttpAgent } from 'node:http';
import type { ReaperSocket } from './docker-client.ts';
import { engineTlsAgent, engineTlsFromEnv, type EngineTls } from './engine-tls.ts';
import { DEFAULT_ENGINE_SOCKET, hostUrl, type HostAddress } from './host-address.ts';
import { localReaperSockets } from './reaper.ts';
import { SshSession } from './ssh-session.ts';

export interface EngineConnection {
  docker: Docker;
  endpoint: string;
  /** Closes the SSH session or the TCP connections (nothing to close for a unix socket). */
  release?: () => Promise<void>;
  session?: SshSession;
  /** A tcp:// engine's TLS settings (undefined: plain TCP, or not a tcp:// engine). */
  tls?: EngineTls;
  /** Set when this machine's reaper process does not cover the engine: the socket its reaper container mounts. */
  reaperSocket?: ReaperSocket;
}

/** Which socket a reaper container on this engine mounts, and the setting that names it (for the message when it is wrong). */
function reaperSocketFor(address: HostAddress, env: NodeJS.ProcessEnv): ReaperSocket | undefined {
  if (address.kind === 'unix') {
    if (localReaperSockets().includes(address.socketPath)) return undefined;
    return { socketPath: address.socketPath, socketSource: 'the unix:// URL', setting: 'the unix:// URL' };
  }
  if (address.kind === 'ssh') {
    const setting = 'the socket path of the ssh:// URL (ssh://user@host/path/to/docker.sock)';
    return { socketPath: address.socketPath, socketSource: address.socketPath === DEFAULT_ENGINE_SOCKET ? 'the default' : 'the ssh:// URL', setting };
  }
  const setting = 'RETROLAB_ENGINE_SOCKET (or hosts[].engineSocket in retrolab.config.json)';
  if (address.engineSocket !== undefined) return { socketPath: address.engineSocket, socketSource: 'hosts[].engineSocket', setting: 'hosts[].engineSocket in retrolab.config.json' };
  const fromEnv = env.RETROLAB_ENGINE_SOCKET;
  if (fromEnv !== undefined && fromEnv !== '') return { socketPath: fromEnv, socketSource: 'RETROLAB_ENGINE_SOCKET', setting };
  return { socketPath: DEFAULT_ENGINE_SOCKET, socketSource: 'the default', setting };
}

/**
 * dockerode pointed at one host. An `ssh://` host gets one SSH session, host
 * key checked against known_hosts, that every API request of the run shares;
 * a `tcp://` host gets one keep-alive agent, with TLS when the environment
 * asks for it as it would of the docker CLI (engine-tls.ts).
 */
export async function openEngine(
  address: HostAddress,
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; onLost?: (reason: string) => void } = {},
): Promise<EngineConnection> {
  const env = options.env ?? process.env;
  const endpoint = hostUrl(address);
  const reaperSocket = reaperSocketFor(address, env);
  if (address.kind === 'unix') return { docker: new Docker({ socketPath: address.socketPath }), endpoint, ...(reaperSocket ? { reaperSocket } : {}) };
  if (address.kind === 'tcp') {
    const tls = await engineTlsFromEnv(env);
    const agent = tls ? engineTlsAgent(tls) : new HttpAgent({ keepAlive: true, maxFreeSockets: 4 });
    // (docker-modem takes `agent`; @types/dockerode does not list it.)
    const docker = new Docker({ protocol: tls ? 'https' : 'http', host: address.host, port: address.port, agent } as Docker.DockerOptions);
    return {
      docker,
      endpoint,
      ...(tls ? { tls } : {}),
      ...(reaperSocket ? { reaperSocket } : {}),
      release: () => {
        agent.destroy();
        return Promise.resolve();
      },
    };
  }
  const session = await SshSession.connect(address, {
    signal: options.signal,
    env: options.env,
  });
  if (options.onLost) session.onLost(options.onLost);
  // Plain HTTP framing over the session's channels; host and port only fill the Host header.
  const docker = new Docker({ protocol: 'http', host: address.host, port: address.port, agent: session.agent } as Docker.DockerOptions);
  return { docker, endpoint, session, ...(reaperSocket ? { reaperSocket } : {}), release: () => session[Symbol.asyncDispose]() };
}
