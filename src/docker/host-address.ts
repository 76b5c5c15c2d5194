import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/** The engine socket on a Docker host when the address names none. */
export const DEFAULT_ENGINE_SOCKET = '/var/run/docker.sock';

/**
 * One Docker engine the lab may run items on: the local socket (or any unix
 * socket), or an engine reached over SSH. `name` is what progress lines and
 * results.json show for the host.
 */
export type HostAddress =
  | { kind: 'unix'; name: string; socketPath: string; slots?: number }
  | {
      kind: 'ssh';
      name: string;
      user: string;
      host: string;
      port: number;
      /** The engine socket on the remote machine, reached through the SSH connection. */
      socketPath: string;
      slots?: number;
      /** A private key file; without it the agent (SSH_AUTH_SOCK) or RETROLAB_SSH_KEY is used. */
      identityFile?: string;
      /** The known_hosts file to check the host key against; RETROLAB_KNOWN_HOSTS or ~/.ssh/known_hosts otherwise. */
      knownHostsFile?: string;
      /** retrolab's cache folder on the host, used when it does not see this machine's files; defaultCacheDir (sftp-host-files.ts) otherwise. */
      cacheDir?: string;
    }
  | {
      kind: 'tcp';
      name: string;
      host: string;
      /** As the docker CLI: 2376 when TLS is on (DOCKER_TLS_VERIFY, DOCKER_TLS), else 2375, unless the URL names one. */
      port: number;
      slots?: number;
      /** The engine's unix socket on its own machine, for the reaper container (hosts[].engineSocket). */
      engineSocket?: string;
    };

/** A `hosts` entry of retrolab.config.json. */
export const hostConfigEntry = z.strictObject({
  url: z.string().min(1, 'must be ssh://user@host[:port][/socket], tcp://host[:port] or unix:///path'),
  slots: z.number().int().min(1).max(64).optional(),
  identityFile: z.string().min(1).optional(),
  knownHosts: z.string().min(1).optional(),
  engineSocket: z.string().startsWith('/', 'must be an absolute path (the engine socket on that machine)').optional(),
  cacheDir: z.string().min(1).optional(),
});
export type HostConfigEntry = z.infer<typeof hostConfigEntry>;

function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/** Whether the docker CLI would speak TLS to a tcp:// engine with this environment. */
export function tlsWanted(env: NodeJS.ProcessEnv): boolean {
  return (env.DOCKER_TLS_VERIFY ?? '') !== '' || (env.DOCKER_TLS ?? '') !== '';
}

/**
 * Parses `ssh://user@host[:port][/remote/engine.sock]`, `tcp://host[:port]`
 * or `unix:///path`. `where` names the flag or config field for the message;
 * `env` decides a tcp:// URL's default port as the docker CLI does.
 */
export function parseHostAddress(text: string, where: string, env: NodeJS.ProcessEnv = process.env): HostAddress {
  const bad = (why: string) =>
    new ConfigError(
      `${where}: ${JSON.stringify(text)} ${why}; use ssh://user@host[:port] (optionally /path/of/the/engine.sock after it), tcp://host[:port] or unix:///path/to/docker.sock`,
      { context: { where, value: text } },
    );
  const parseUrl = (): URL => {
    try {
      return new URL(text);
    } catch {
      throw bad('is not a valid URL');
    }
  };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!isAbsolute(socketPath)) throw bad('has no absolute socket path');
    return { kind: 'unix', name: socketPath === DEFAULT_ENGINE_SOCKET ? 'local' : `unix:${socketPath}`, socketPath };
  }
  if (text.startsWith('tcp://')) {
    const url = parseUrl();
    if (url.hostname === '') throw bad('names no host');
    if (url.username !== '' || url.password !== '') throw bad('carries a user; a tcp:// engine takes none (TLS client certificates: DOCKER_CERT_PATH)');
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '')
      throw bad('has a path, query or fragment retrolab does not understand (the engine socket for the reaper goes in hosts[].engineSocket)');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port !== '' ? Number(url.port) : tlsWanted(env) ? 2376 : 2375;
    return { kind: 'tcp', name: `${host.includes(':') ? `[${host}]` : host}:${port}`, host, port };
  }
  if (!text.startsWith('ssh://')) throw bad(text.includes('://') ? 'uses a scheme retrolab cannot reach' : 'is not a URL');
  const url = parseUrl();
  if (url.username === '') throw bad('names no user (ssh://USER@host)');
  if (url.password !== '') throw bad('carries a password; use a key (ssh-agent or identityFile) instead');
  if (url.hostname === '') throw bad('names no host');
  if (url.search !== '' || url.hash !== '') throw bad('has a query or fragment retrolab does not understand');
  const port = url.port === '' ? 22 : Number(url.port);
  const socketPath = url.pathname === '' || url.pathname === '/' ? DEFAULT_ENGINE_SOCKET : decodeURIComponent(url.pathname);
  const user = decodeURIComponent(url.username);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    kind: 'ssh',
    name: `${user}@${host}${port === 22 ? '' : `:${port}`}`,
    user,
    host,
    port,
    socketPath,
  };
}

/** A config entry as an address, with relative key paths taken from the config file's folder. */
export function hostFromConfig(entry: HostConfigEntry, index: number, root: string, env: NodeJS.ProcessEnv = process.env): HostAddress {
  const address = parseHostAddress(entry.url, `retrolab.config.json hosts[${index}].url`, env);
  const file = (path: string) => resolve(root, expandHome(path));
  if (address.kind !== 'ssh' && (entry.identityFile !== undefined || entry.knownHosts !== undefined || entry.cacheDir !== undefined)) {
    throw new ConfigError(`retrolab.config.json hosts[${index}]: identityFile, knownHosts and cacheDir are for ssh:// hosts, not ${entry.url}`);
  }
  if (address.kind !== 'tcp' && entry.engineSocket !== undefined) {
    throw new ConfigError(
      `retrolab.config.json hosts[${index}].engineSocket: only a tcp:// host takes it (an ssh:// URL names its socket after the host: ssh://user@host${entry.engineSocket}); remove it from ${entry.url}`,
    );
  }
  if (address.kind === 'unix') return { ...address, slots: entry.slots };
  if (address.kind === 'tcp') return { ...address, slots: entry.slots, ...(entry.engineSocket !== undefined ? { engineSocket: entry.engineSocket } : {}) };
  return {
    ...address,
    slots: entry.slots,
    ...(entry.identityFile !== undefined ? { identityFile: file(entry.identityFile) } : {}),
    ...(entry.knownHosts !== undefined ? { knownHostsFile: file(entry.knownHosts) } : {}),
    // A path on the host, not here: kept as written (~/ is the SSH user's home there).
    ...(entry.cacheDir !== undefined ? { cacheDir: entry.cacheDir } : {}),
  };
}

export interface HostChoiceInput {
  /** `--host` values, in order. */
  flags: readonly string[];
  /** `--jobs`: the slots of every host named on the command line (of the one host, usually). */
  jobs?: number;
  /** retrolab.config.json `hosts`. */
  config?: readonly HostConfigEntry[];
  configRoot: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Which engines a run uses: `--host` flags win; else the config's `hosts`;
 * else DOCKER_HOST; else the local socket. `--jobs` overrides the slots of
 * what was chosen. The same engine named twice is an error (it would get
 * twice the work it can take).
 */
export function chooseHosts(input: HostChoiceInput): HostAddress[] {
  let hosts: HostAddress[];
  if (input.flags.length > 0) {
    hosts = input.flags.map((flag) => parseHostAddress(flag, '--host', input.env));
  } else if (input.config && input.config.length > 0) {
    hosts = input.config.map((entry, index) => hostFromConfig(entry, index, input.configRoot, input.env));
  } else if (input.env.DOCKER_HOST !== undefined && input.env.DOCKER_HOST !== '') {
    hosts = [parseHostAddress(input.env.DOCKER_HOST, 'DOCKER_HOST', input.env)];
  } else {
    hosts = [{ kind: 'unix', name: 'local', socketPath: DEFAULT_ENGINE_SOCKET }];
  }
  const seen = new Map<string, string>();
  for (const host of hosts) {
    const key =
      host.kind === 'unix'
        ? `unix:${host.socketPath}`
        : host.kind === 'tcp'
          ? `tcp:${host.host}:${host.port}`
          : `ssh:${host.user}@${host.host}:${host.port}${host.socketPath}`;
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`hosts: ${host.name} is named twice; give it more slots (--jobs, or "slots" in retrolab.config.json) instead`);
    seen.set(key, host.name);
  }
  if (input.jobs !== undefined) hosts = hosts.map((host) => ({ ...host, slots: input.jobs }));
  return hosts;
}

/** The engine URL in the form DOCKER_HOST and `--host` take (for messages and results). */
export function hostUrl(host: HostAddress): string {
  if (host.kind === 'unix') return `unix://${host.socketPath}`;
  const at = host.host.includes(':') ? `[${host.host}]` : host.host;
  if (host.kind === 'tcp') return `tcp://${at}:${host.port}`;
  return `ssh://${host.user}@${at}${host.port === 22 ? '' : `:${host.port}`}${host.socketPath === DEFAULT_ENGINE_SOCKET ? '' : host.socketPath}`;
}
