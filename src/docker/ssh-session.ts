import { Agent as HttpAgent } from 'node:http';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import pRetry, { AbortError } from 'p-retry';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { ConfigError, RetrolabError } from '../errors.ts';
import type { HostAddress } from './host-address.ts';
import { HostKeyError, checkHostKey, hostKeyAlgorithmsFor, parseKnownHosts } from './known-hosts.ts';

const debug = createDebug('retrolab:ssh');

type SshAddress = Extract<HostAddress, { kind: 'ssh' }>;

/** The SSH connection to a host could not be made or was lost. */
export class SshConnectError extends RetrolabError {
  constructor(readonly host: string, message: string, fix: string, cause?: unknown) {
    super(`${host}: ${message}\n  fix: ${fix}`, { cause, context: { host } });
  }
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Keys come from the agent (SSH_AUTH_SOCK) and/or one private key file; at least one is needed. */
async function credentials(address: SshAddress, env: NodeJS.ProcessEnv): Promise<{ agent?: string; privateKey?: Buffer; tried: string[] }> {
  const tried: string[] = [];
  const agent = env.SSH_AUTH_SOCK !== undefined && env.SSH_AUTH_SOCK !== '' ? env.SSH_AUTH_SOCK : undefined;
  if (agent) tried.push(`ssh-agent (${agent})`);
  const named = address.identityFile ?? (env.RETROLAB_SSH_KEY !== undefined && env.RETROLAB_SSH_KEY !== '' ? env.RETROLAB_SSH_KEY : undefined);
  if (named !== undefined) {
    const privateKey = await readIfExists(named);
    if (!privateKey) {
      throw new ConfigError(`${address.name}: the SSH key ${named} does not exist (${address.identityFile ? 'identityFile in retrolab.config.json' : 'RETROLAB_SSH_KEY'})`);
    }
    tried.push(named);
    return { agent, privateKey, tried };
  }
  if (agent) return { agent, tried };
  for (const name of DEFAULT_KEYS) {
    const path = join(homedir(), '.ssh', name);
    const privateKey = await readIfExists(path);
    if (privateKey) return { privateKey, tried: [path] };
  }
  throw new ConfigError(
    `${address.name}: no SSH key to log in with: SSH_AUTH_SOCK is not set, RETROLAB_SSH_KEY is not set, and ~/.ssh has none of ${DEFAULT_KEYS.join(', ')}`,
  );
}

export interface SshSessionOptions {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Connection attempts before giving up (the edge where retries belong); 3 by default. */
  attempts?: number;
}

/**
 * One SSH connection to a Docker host, kept for the whole run. `agent` is an
 * http.Agent whose every socket is a channel of that one connection, opened
 * straight to the remote engine's unix socket (direct-streamlocal, the
 * `ssh -L local:/var/run/docker.sock` of OpenSSH). dockerode's own `ssh://`
 * transport instead opens a new SSH connection, and a `docker system
 * dial-stdio` process, for every API request (bench: ssh-transport).
 */
export class SshSession implements AsyncDisposable {
  readonly agent: HttpAgent;
  readonly address: SshAddress;
  readonly #client: Client;
  #closed = false;
  #lostReason: string | undefined;
  #sftp: Promise<SFTPWrapper> | undefined;
  readonly #onLost = new Set<(reason: string) => void>();
  channelsOpened = 0;

  private constructor(client: Client, address: SshAddress) {
    this.#client = client;
    this.address = address;
    const open = () => this.openChannel();
    this.agent = new (class extends HttpAgent {
      override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined {
        open().then(
          (channel) => callback(null, channel),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
        return undefined;
      }
    })({ keepAlive: true, maxFreeSockets: 4 });
    client.on('close', () => this.#lose('the SSH connection closed'));
    client.on('error', (error) => this.#lose(`the SSH connection failed: ${error.message}`));
  }

  /** Why the connection is gone, or undefined while it is up. */
  get lost(): string | undefined {
    return this.#lostReason;
  }

  onLost(listener: (reason: string) => void): void {
    this.#onLost.add(listener);
  }

  #lose(reason: string): void {
    if (this.#lostReason !== undefined) return;
    this.#lostReason = this.#closed ? 'closed by retrolab' : reason;
    this.agent.destroy();
    debug('%s: %s', this.address.name, this.#lostReason);
    if (!this.#closed) for (const listener of this.#onLost) listener(reason);
  }

  /** A new channel to the remote engine socket, on the one connection. */
  openChannel(): Promise<Duplex> {
    return this.openStreamLocal(this.address.socketPath).catch((error: unknown) => {
      if (error instanceof SshConnectError) throw error;
      throw new SshConnectError(
        this.address.name,
        `cannot reach the Docker engine socket ${this.address.socketPath} through SSH: ${(error as Error).message}`,
        `check that dockerd runs there and that ${this.address.user} may use its socket (member of the docker group), and that sshd allows it (AllowStreamLocalForwarding yes, the default)`,
        error,
      );
    });
  }

  #checkUp(): void {
    if (this.#lostReason !== undefined) throw new SshConnectError(this.address.name, this.#lostReason, 'check that the host is up, then run again');
  }

  /**
   * A connection to any unix socket on the host (direct-streamlocal): the
   * engine's, or a guest's serial line and QMP in a run folder there. sshd
   * refuses it while nothing listens, which callers waiting for a socket
   * treat as "not yet"; the error is the channel's, unwrapped.
   */
  async openStreamLocal(socketPath: string): Promise<Duplex> {
    this.#checkUp();
    return new Promise((resolve, reject) => {
      this.#client.openssh_forwardOutStreamLocal(socketPath, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(new Error(`${this.address.name}: cannot connect to ${socketPath} through SSH: ${error.message}`, { cause: error }));
        this.channelsOpened += 1;
        resolve(asSocketLike(channel));
      });
    });
  }

  /** The SFTP subsystem on the one connection, opened once and reused. */
  async sftp(): Promise<SFTPWrapper> {
    this.#checkUp();
    this.#sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.#client.sftp((error, sftp) => {
        if (error) {
          this.#sftp = undefined;
          reject(
            new SshConnectError(
              this.address.name,
              `the SFTP subsystem did not open: ${error.message}`,
              'enable it in sshd_config (Subsystem sftp internal-sftp, or the sftp-server of openssh-server)',
              error,
            ),
          );
          return;
        }
        sftp.once('close', () => (this.#sftp = undefined));
        resolve(sftp);
      });
    });
    return this.#sftp;
  }

  /**
   * Runs one shell command on the host (an exec channel of the one
   * connection); resolves with its exit code and output, whatever the code.
   * Aborting closes the channel.
   */
  async exec(command: string, options: { signal?: AbortSignal } = {}): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
    this.#checkUp();
    options.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.#client.exec(command, (error, channel) => {
        if (error) return reject(new SshConnectError(this.address.name, `cannot run \`${command}\`: ${error.message}`, 'check that the host is up and allows command execution', error));
        let stdout = '';
        let stderr = '';
        const onAbort = () => channel.close();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        channel.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        channel.on('close', (code: number | null) => {
          options.signal?.removeEventListener('abort', onAbort);
          if (options.signal?.aborted) reject(options.signal.reason as Error);
          else resolve({ exitCode: typeof code === 'number' ? code : null, stdout, stderr });
        });
      });
    });
  }

  /** Connects, checks the host key against known_hosts, and logs in. */
  static async connect(address: SshAddress, options: SshSessionOptions = {}): Promise<SshSession> {
    const env = options.env ?? process.env;
    const knownHostsFile = address.knownHostsFile ?? (env.RETROLAB_KNOWN_HOSTS !== undefined && env.RETROLAB_KNOWN_HOSTS !== '' ? env.RETROLAB_KNOWN_HOSTS : join(homedir(), '.ssh', 'known_hosts'));
    const knownText = await readFile(knownHostsFile, 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    });
    const known = parseKnownHosts(knownText);
    const auth = await credentials(address, env);
    const algorithms = hostKeyAlgorithmsFor(known, address.host, address.port);
    const attempt = async (): Promise<SshSession> => {
      options.signal?.throwIfAborted();
      const client = new Client();
      let refused: HostKeyError | undefined;
      const config: ConnectConfig = {
        host: address.host,
        port: address.port,
        username: address.user,
        ...(auth.agent ? { agent: auth.agent } : {}),
        ...(auth.privateKey ? { privateKey: auth.privateKey } : {}),
        readyTimeout: 20_000,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        ...(algorithms.length > 0 ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(known, { host: address.host, port: address.port, key, knownHostsFile });
          if (!verdict.ok) refused = verdict.error;
          return verdict.ok;
        },
      };
      return new Promise<SshSession>((resolve, reject) => {
        const onAbort = () => {
          client.end();
          reject(options.signal?.reason as Error);
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        client.once('ready', () => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve(new SshSession(client, address));
        });
        client.once('error', (error: Error & { level?: string }) => {
          options.signal?.removeEventListener('abort', onAbort);
          client.end();
          if (refused) {
            reject(new AbortError(refused));
          } else if (error.level === 'client-authentication') {
            reject(
              new AbortError(
                new SshConnectError(
                  address.name,
                  `the host refused every key retrolab offered (${auth.tried.join(', ')})`,
                  `add the public key to ~${address.user}/.ssh/authorized_keys on the host, or name the right key (identityFile in retrolab.config.json, or RETROLAB_SSH_KEY)`,
                  error,
                ),
              ),
            );
          } else {
            reject(new SshConnectError(address.name, `cannot connect to ${address.host}:${address.port}: ${error.message}`, 'check the address and that sshd runs there', error));
          }
        });
        client.connect(config);
      });
    };
    return pRetry(attempt, { retries: (options.attempts ?? 3) - 1, minTimeout: 500, signal: options.signal });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.agent.destroy();
    await new Promise<void>((resolve) => {
      if (this.#lostReason !== undefined) return resolve();
      this.#client.once('close', () => resolve());
      this.#client.end();
      setTimeout(resolve, 2000).unref();
    });
  }
}

/**
 * Node's http client calls socket methods an SSH channel lacks (keep-alive,
 * Nagle, idle timeouts); on a channel they have nothing to do.
 */
function asSocketLike(channel: ClientChannel): Duplex {
  const socket = channel as ClientChannel & Record<string, unknown>;
  for (const name of ['setKeepAlive', 'setNoDelay', 'ref', 'unref']) {
    if (typeof socket[name] !== 'function') socket[name] = () => socket;
  }
  if (typeof socket.setTimeout !== 'function') socket.setTimeout = () => socket;
  return channel;
}
