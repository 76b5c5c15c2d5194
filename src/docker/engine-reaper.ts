import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PassThrough, type Duplex } from 'node:stream';
import createDebug from 'debug';
import { ConfigError, RetrolabError, errorMessage } from '../errors.ts';
import { LABEL, PRODUCT } from './labels.ts';
import { CLEANUP_CALL_MS } from './started-container.ts';

const debug = createDebug('retrolab:reaper');

const SCRIPT = readFileSync(new URL('./engine-reaper.pl', import.meta.url), 'utf8');

/** The label that marks a reaper container (the sweep removes stale ones like any container of a dead owner). */
export const REAPER_ROLE = { key: 'io.retrolab.role', value: 'reaper' } as const;

/** How long a silent stream is trusted by default (RETROLAB_REAPER_SILENCE_S). */
export const SILENCE_S = 30;
/** How often the owner writes to the reaper's stdin: every 5 s, and at least three times within the silence allowed. */
export function heartbeatMs(silenceS: number): number {
  return Math.min(5_000, Math.floor((silenceS * 1000) / 3));
}
/** Between the stream ending and the removal: the owner's own cleanup, if it is still alive, goes first. */
export const GRACE_S = 2;
const READY_TIMEOUT_MS = 30_000;

/** The reaper container could not be started, or its socket leads to another engine. */
export class EngineReaperError extends RetrolabError {
  constructor(readonly endpoint: string, message: string, readonly fix: string, cause?: unknown) {
    super(`${endpoint}: ${message}\n  fix: ${fix}`, { cause, context: { endpoint } });
  }
}

export interface EngineReaperOptions {
  /** The engine's API socket on the engine's machine, mounted into the reaper. */
  socketPath: string;
  /** Where that path came from, for the message when it leads elsewhere (the default, a config field or variable). */
  socketSource: string;
  /** What to set to name another socket (the fix). */
  setting: string;
  /** An image the engine has (with perl-base: every Debian image retrolab runs). */
  image: string;
  /** The reaper container's own labels (the run's): the next command's sweep removes a stale reaper like any leftover. */
  labels: Record<string, string>;
  endpoint: string;
  signal?: AbortSignal;
}

/**
 * A reaper on an engine that this machine's reaper process cannot reach (an
 * `ssh://` or `tcp://` host, or another unix socket): testcontainers' Ryuk,
 * with an attach stream in place of Ryuk's TCP port, since retrolab's
 * containers have no network. The container holds the engine's socket and
 * the stdin this process attached to (StdinOnce: the engine closes it when
 * this process's connection ends, however it ends). Then, after GRACE_S, it
 * removes every container and volume with this owner's labels, and exits;
 * the engine removes it (AutoRemove). `stop()` removes it when the owner
 * ends cleanly.
 */
export class EngineReaper implements AsyncDisposable {
  readonly #container: Docker.Container;
  readonly #stream: Duplex;
  readonly #heartbeat: NodeJS.Timeout;
  #stopped: Promise<void> | undefined;

  private constructor(container: Docker.Container, stream: Duplex, silenceS: number) {
    this.#container = container;
    this.#stream = stream;
    this.#heartbeat = setInterval(() => {
      if (!stream.destroyed && stream.writable) stream.write('\n');
    }, heartbeatMs(silenceS));
    // The heartbeat must not keep the process alive: when it is all that is left, the owner is done.
    this.#heartbeat.unref();
    (stream as Duplex & { unref?: () => void }).unref?.();
  }

  get id(): string {
    return this.#container.id;
  }

  static async start(docker: Docker, options: EngineReaperOptions): Promise<EngineReaper> {
    options.signal?.throwIfAborted();
    const reaped = Object.entries(reapedLabels()).map(([k, v]) => `${k}=${v}`);
    const silenceS = silenceSeconds(process.env);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        Image: options.image,
        Entrypoint: ['perl', '-e', SCRIPT],
        Cmd: ['/engine.sock', String(GRACE_S), String(silenceS), ...reaped],
        // Root, to open the engine's socket (root-owned); no capabilities, no network, read-only.
        User: '0:0',
        Labels: { ...options.labels, [REAPER_ROLE.key]: REAPER_ROLE.value },
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          AutoRemove: true,
          Mounts: [{ Type: 'bind', Source: options.socketPath, Target: '/engine.sock' }],
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          NetworkMode: 'none',
          PidsLimit: 16,
          Memory: 64 * 1024 * 1024,
          NanoCpus: 250_000_000,
        },
      });
    } catch (error) {
      throw new EngineReaperError(
        options.endpoint,
        `the reaper container could not be created with ${options.socketPath} mounted (${options.socketSource}): ${errorMessage(error)}`,
        `name the engine's unix socket on that machine in ${options.setting}`,
        error,
      );
    }
    // No abortSignal on the attach: its end is what tells the reaper to reap, and the signal of the call that
    // happened to start it (one scenario's) ends long before the run does.
    const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
    const lines = new PassThrough();
    (container.modem as { demuxStream(stream: Duplex, out: PassThrough, err: PassThrough): void }).demuxStream(stream, lines, lines);
    let output = '';
    const first = new Promise<string>((resolve) => {
      lines.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        debug('%s: %s', options.endpoint, chunk.toString().trimEnd());
        const line = output.split('\n').slice(0, -1).find((l) => l === 'ready' || l.startsWith('wrong-engine'));
        if (line) resolve(line);
      });
      stream.once('close', () => resolve(`the reaper ended before it was ready: ${output.trim() || 'no output'}`));
      stream.once('end', () => resolve(`the reaper ended before it was ready: ${output.trim() || 'no output'}`));
    });
    try {
      await container.start();
      const timeout = AbortSignal.timeout(READY_TIMEOUT_MS);
      const answer = await Promise.race([
        first,
        new Promise<string>((resolve) => timeout.addEventListener('abort', () => resolve(`no answer from the reaper within ${READY_TIMEOUT_MS / 1000} s`), { once: true })),
      ]);
      if (answer !== 'ready') {
        throw new EngineReaperError(
          options.endpoint,
          answer.startsWith('wrong-engine')
            ? `${options.socketPath} (${options.socketSource}) is not this engine's socket on its machine, so its reaper could not remove what a killed run leaves there: ${answer}`
            : `the reaper did not start: ${answer}`,
          answer.startsWith('wrong-engine')
            ? `set ${options.setting} to the unix socket of the engine that answers at ${options.endpoint}`
            : `check that ${options.image} has perl (perl-base) and that ${options.socketPath} is the engine's socket`,
        );
      }
    } catch (error) {
      stream.destroy();
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
    debug('%s: reaper %s ready', options.endpoint, container.id.slice(0, 12));
    return new EngineReaper(container, stream, silenceS);
  }

  /** Removes the reaper (the owner removed its own containers and ends cleanly), within `callMs`. Safe to call twice. */
  stop(options: { callMs?: number } = {}): Promise<void> {
    this.#stopped ??= (async () => {
      clearInterval(this.#heartbeat);
      try {
        await this.#container.remove({ force: true, abortSignal: AbortSignal.timeout(options.callMs ?? CLEANUP_CALL_MS) });
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) debug('removing the reaper %s: %s', this.id.slice(0, 12), errorMessage(error));
      } finally {
        this.#stream.destroy();
      }
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * How long the reaper trusts a stream that neither ends nor carries a heartbeat (a connection that hangs
 * without closing: a network that drops packets, an owner stopped with SIGSTOP): RETROLAB_REAPER_SILENCE_S.
 */
export function silenceSeconds(env: NodeJS.ProcessEnv): number {
  const text = env.RETROLAB_REAPER_SILENCE_S;
  if (text === undefined || text === '') return SILENCE_S;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 3 || value > 3600)
    throw new ConfigError(
      `RETROLAB_REAPER_SILENCE_S: ${JSON.stringify(text.slice(0, 200))} is not a whole number of seconds from 3 to 3600; unset it for the default ${SILENCE_S}`,
      { context: { variable: 'RETROLAB_REAPER_SILENCE_S', value: text } },
    );
  return value;
}

/** The labels a reaper removes: everything of this process (on any engine, runs share the owner pid and host). */
export function reapedLabels(): Record<string, string> {
  return { [LABEL.product]: PRODUCT, [LABEL.ownerPid]: String(process.pid), [LABEL.ownerHost]: hostname() };
}
