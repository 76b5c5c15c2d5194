import type Docker from 'dockerode';
import { PassThrough, type Duplex } from 'node:stream';
import type { ContainerSpec, RunResult } from './container-spec.ts';
import { ContainerError } from './errors.ts';
import { LABEL } from './labels.ts';

const OUTPUT_LIMIT = 4 * 1024 * 1024;

/**
 * How long one Docker call on a cleanup path (removing a container, asking
 * whether it runs) may take. An engine that is being restarted accepts a
 * connection and may never answer it; a removal without a deadline held the
 * run's dispose, and with it the whole run, for as long as the engine stayed
 * silent. What a removal that gave up leaves is the reaper's and the next
 * sweep's to remove.
 */
export const CLEANUP_CALL_MS = 15_000;

export interface ExecOptions {
  user?: string;
  env?: Record<string, string>;
  stdin?: Buffer;
  workdir?: string;
  signal?: AbortSignal;
}

export interface StartedContainer extends AsyncDisposable {
  readonly id: string;
  readonly image: string;
  /** Runs a command inside the container and waits for it. A non-zero exit is a result, not an error. */
  exec(cmd: string[], options?: ExecOptions): Promise<RunResult>;
  /** Waits for the container's main process to exit. */
  waitForExit(options?: { signal?: AbortSignal }): Promise<RunResult>;
  /** Output of the main process so far (bounded). */
  output(): { stdout: string; stderr: string };
  isRunning(): Promise<boolean>;
  /** Kills and removes the container. Safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Saves the container's file system as the image `repo:tag` (running or exited) with `labels` added and the
   * run's owner labels emptied; returns the image id.
   */
  commit(ref: { repo: string; tag: string }, options?: { signal?: AbortSignal; labels?: Record<string, string> }): Promise<string>;
}

/** Keeps the last `limit` bytes written to it. */
class BoundedBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  constructor(readonly limit: number) {}
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.limit && this.#chunks.length > 1) this.#size -= this.#chunks.shift()!.length;
  }
  toString(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

export class DockerStartedContainer implements StartedContainer {
  readonly #container: Docker.Container;
  readonly #spec: ContainerSpec;
  readonly #onGone: (c: StartedContainer, removed: boolean) => void;
  readonly #stdout = new BoundedBuffer(OUTPUT_LIMIT);
  readonly #stderr = new BoundedBuffer(OUTPUT_LIMIT);
  #attachEnded: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  readonly #startedAt = Date.now();
  readonly #cleanupMs: number;

  /**
   * `onGone(container, removed)`: the container is no longer this client's; `removed` says the engine confirmed it is gone.
   * `cleanupMs`: the deadline of each cleanup call (CLEANUP_CALL_MS).
   */
  constructor(
    container: Docker.Container,
    spec: ContainerSpec,
    onGone: (c: StartedContainer, removed: boolean) => void,
    options: { cleanupMs?: number } = {},
  ) {
    this.#container = container;
    this.#spec = spec;
    this.#onGone = onGone;
    this.#cleanupMs = options.cleanupMs ?? CLEANUP_CALL_MS;
  }

  get id(): string {
    return this.#container.id;
  }

  get image(): string {
    return this.#spec.image;
  }

  /** Attaches to the main process's streams, then starts it, so no early output is lost. */
  async begin(options: { signal?: AbortSignal }): Promise<void> {
    const withStdin = this.#spec.stdin !== undefined;
    const stream = (await this.#container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      stdin: withStdin,
      hijack: withStdin,
      abortSignal: options.signal,
    })) as unknown as Duplex;
    this.#attachEnded = this.#collect(stream, this.#stdout, this.#stderr);
    try {
      await this.#container.start({ abortSignal: options.signal });
    } catch (error) {
      throw new ContainerError(
        `Starting a container from ${this.image} failed: ${error instanceof Error ? error.message : String(error)}`,
        this.image,
        this.id,
        error,
      );
    }
    if (withStdin) stream.end(this.#spec.stdin);
  }

  async waitForExit(options: { signal?: AbortSignal } = {}): Promise<RunResult> {
    const onAbort = () => void this.stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { StatusCode } = (await this.#container.wait({ abortSignal: options.signal })) as { StatusCode: number };
      options.signal?.throwIfAborted();
      await this.#attachEnded;
      return { exitCode: StatusCode, ...this.output(), durationMs: Date.now() - this.#startedAt };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  output(): { stdout: string; stderr: string } {
    return { stdout: this.#stdout.toString(), stderr: this.#stderr.toString() };
  }

  async isRunning(): Promise<boolean> {
    try {
      const info = await this.#container.inspect({ abortSignal: AbortSignal.timeout(this.#cleanupMs) });
      return info.State.Running;
    } catch {
      return false;
    }
  }

  async exec(cmd: string[], options: ExecOptions = {}): Promise<RunResult> {
    options.signal?.throwIfAborted();
    const started = Date.now();
    const exec = await this.#container.exec({
      Cmd: cmd,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: options.stdin !== undefined,
      ...(options.user ? { User: options.user } : {}),
      ...(options.workdir ? { WorkingDir: options.workdir } : {}),
      Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      abortSignal: options.signal,
    });
    const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined, abortSignal: options.signal });
    const stdout = new BoundedBuffer(OUTPUT_LIMIT);
    const stderr = new BoundedBuffer(OUTPUT_LIMIT);
    const ended = this.#collect(stream, stdout, stderr);
    if (options.stdin !== undefined) stream.end(options.stdin);
    const onAbort = () => stream.destroy();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await ended;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    options.signal?.throwIfAborted();
    // The stream ends a moment before the engine records the exit code.
    const inspect = () => exec.inspect({ abortSignal: AbortSignal.any([AbortSignal.timeout(this.#cleanupMs), ...(options.signal ? [options.signal] : [])]) });
    let info = await inspect();
    for (let i = 0; info.Running && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      info = await inspect();
    }
    return { exitCode: info.ExitCode ?? -1, stdout: stdout.toString(), stderr: stderr.toString(), durationMs: Date.now() - started };
  }

  async commit(
    ref: { repo: string; tag: string },
    options: { signal?: AbortSignal; labels?: Record<string, string> } = {},
  ): Promise<string> {
    options.signal?.throwIfAborted();
    // The image outlives this run: with the run's owner labels, a container started from it by anyone else (docker
    // run) would look like this run's and be reaped once the run has ended. Empty, they match no owner.
    const owner = { [LABEL.runId]: '', [LABEL.ownerPid]: '', [LABEL.ownerHost]: '' };
    // A Dockerfile LABEL instruction applied to the image's config: it would expand $ and eat backslashes, so a
    // value holds none (a record goes in as base64).
    const labels = Object.entries({ ...owner, ...options.labels }).map(([key, value]) => {
      if (!/^[\w .:/+=@-]*$/.test(key + value))
        throw new ContainerError(
          `label ${key}=${JSON.stringify(value)} for ${ref.repo}:${ref.tag} holds a character a LABEL instruction would change (only letters, digits, space and . : / + = @ - _); encode the value (base64)`,
          this.image,
          this.id,
        );
      return `${key}="${value}"`;
    });
    // pause: a running container is frozen while its layer is copied, so the image is one moment of it.
    const result = (await this.#container.commit({
      repo: ref.repo,
      tag: ref.tag,
      pause: true,
      changes: `LABEL ${labels.join(' ')}`,
      abortSignal: options.signal,
    })) as { Id?: string };
    if (typeof result.Id !== 'string')
      throw new ContainerError(`docker commit as ${ref.repo}:${ref.tag} returned no image id`, this.image, this.id);
    return result.Id;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      let removed = false;
      try {
        await this.#container.remove({ force: true, v: true, abortSignal: AbortSignal.timeout(this.#cleanupMs) });
        removed = true;
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        // 404: already gone; 409: removal already in progress.
        if (status !== 404 && status !== 409) {
          const silent = error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
          throw new ContainerError(
            `Removing container ${this.id.slice(0, 12)} (${this.image}) ${silent ? `got no answer from the engine within ${this.#cleanupMs / 1000} s` : `failed: ${error instanceof Error ? error.message : String(error)}`}; ` +
              'the reaper removes it once this run ends, or the next command sweeps it',
            this.image,
            this.id,
            error,
          );
        }
        removed = true;
      } finally {
        this.#onGone(this, removed);
      }
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #collect(stream: Duplex, stdout: BoundedBuffer, stderr: BoundedBuffer): Promise<void> {
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (c: Buffer) => stdout.push(c));
    err.on('data', (c: Buffer) => stderr.push(c));
    (this.#container.modem as { demuxStream(stream: Duplex, out: PassThrough, err: PassThrough): void }).demuxStream(stream, out, err);
    return new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }
}
