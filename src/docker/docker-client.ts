import Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import createDebug from 'debug';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { toCreateOptions, type ContainerSpec, type RunResult } from './container-spec.ts';
import { ContainerError, DockerUnavailableError, ImageMissingError } from './errors.ts';
import { LABEL, PRODUCT, newRunId, ownerLabels } from './labels.ts';
import { CLEANUP_CALL_MS, DockerStartedContainer, type StartedContainer } from './started-container.ts';
import { buildImageFromContext, type BuildImageOptions } from './image-build.ts';
import { sweepLeftovers, type SweepReport } from './sweeper.ts';
import { sweepStaleDerivedImages } from './derived-images.ts';
import { raceAbort } from '../util/abortable.ts';
import { sweepDeadOwners, type LeftoverSet } from '../util/owner-ledger.ts';
import { startReaper } from './reaper.ts';
import { EngineReaper } from './engine-reaper.ts';
import { RUNNER_IMAGES } from './image-names.ts';
import { openEngine } from './engine-connection.ts';
import { parseHostAddress } from './host-address.ts';
import { explainTcpFailure } from './engine-tls.ts';
import type { HostFiles } from './host-files.ts';
import { SharedHostFiles } from './shared-host-files.ts';
import type { SshSession } from './ssh-session.ts';

const debug = createDebug('retrolab:docker');

/** The engine's API socket on the engine's own machine, for its reaper container. */
export interface ReaperSocket {
  socketPath: string;
  /** Where the path came from (`the default`, a variable, a config field), for messages. */
  socketSource: string;
  /** What to set to name another (the fix). */
  setting: string;
}

export interface EngineInfo {
  endpoint: string;
  serverVersion: string;
  apiVersion: string;
  os: string;
  arch: string;
}

/** What `retrolab hosts` shows of an engine's machine. */
export interface EngineCapacity {
  cpus: number;
  memoryBytes: number;
  name: string;
}

/**
 * The one client over dockerode. Everything retrolab starts goes through it,
 * carries this run's labels, and is removed by `dispose()` if its owner did
 * not remove it first.
 */
export class DockerClient implements AsyncDisposable {
  readonly #docker: Docker;
  readonly #live = new Set<StartedContainer>();
  #removed = 0;
  readonly runId: string;
  readonly endpoint: string;

  readonly #release: (() => Promise<void>) | undefined;
  readonly #cleanupMs: number;
  readonly #reaperSocket: ReaperSocket | undefined;
  #reaper: Promise<EngineReaper> | undefined;
  /** The SSH connection of an `ssh://` engine (files and sockets on that host go through it too). */
  readonly session: SshSession | undefined;
  #files: HostFiles;

  /**
   * `release` closes what the connection holds (an SSH session) after the containers are gone.
   * `cleanupMs`: the deadline of each Docker call on a cleanup path (CLEANUP_CALL_MS).
   * `reaperSocket`: this engine is out of this machine's reaper process's reach, so a reaper
   * container (engine-reaper.ts) with that socket mounted starts before the first container.
   * `session`: the SSH connection of an ssh:// engine.
   */
  constructor(
    docker: Docker,
    endpoint: string,
    runId: string,
    release?: () => Promise<void>,
    options: { cleanupMs?: number; reaperSocket?: ReaperSocket; session?: SshSession } = {},
  ) {
    this.#docker = docker;
    this.endpoint = endpoint;
    this.runId = runId;
    this.#release = release;
    this.#cleanupMs = options.cleanupMs ?? CLEANUP_CALL_MS;
    this.#reaperSocket = options.reaperSocket;
    this.session = options.session;
    this.#files = new SharedHostFiles(options.session?.address.name ?? endpoint);
  }

  /** The files guests on this engine see: this machine's (shared), until a host that cannot see them gets its own (useFiles). */
  get files(): HostFiles {
    return this.#files;
  }

  useFiles(files: HostFiles): void {
    this.#files = files;
  }

  /** Starts this engine's reaper container once, if it needs one; a failure is retried at the next call. */
  async #ensureReaper(image: string | undefined, signal?: AbortSignal): Promise<void> {
    const socket = this.#reaperSocket;
    if (!socket) return;
    this.#reaper ??= (async () => {
      let chosen = image;
      for (const ref of [RUNNER_IMAGES.qemu, RUNNER_IMAGES.wine]) {
        if (chosen === undefined && (await this.imageExists(ref))) chosen = ref;
      }
      if (chosen === undefined) throw new ImageMissingError(RUNNER_IMAGES.qemu);
      return EngineReaper.start(this.#docker, { ...socket, image: chosen, labels: this.labels, endpoint: this.endpoint, signal });
    })();
    try {
      await this.#reaper;
    } catch (error) {
      this.#reaper = undefined;
      throw error;
    }
  }

  /** The id of this engine's reaper container, once one runs (none for an engine this machine's reaper process covers). */
  async reaperId(): Promise<string | undefined> {
    return this.#reaper ? (await this.#reaper).id : undefined;
  }

  /** Whether the engine answers within the signal's time. */
  async ping(options: { signal?: AbortSignal } = {}): Promise<void> {
    // @types/dockerode omits ping's options; dockerode passes abortSignal on.
    const ping = this.#docker.ping.bind(this.#docker) as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
    await ping({ abortSignal: options.signal ?? AbortSignal.timeout(10_000) });
  }

  async capacity(options: { signal?: AbortSignal } = {}): Promise<EngineCapacity> {
    options.signal?.throwIfAborted();
    const info = (await this.#docker.info()) as { NCPU: number; MemTotal: number; Name: string };
    return { cpus: info.NCPU, memoryBytes: info.MemTotal, name: info.Name };
  }

  /** Every tagged image on the engine, as repo:tag. */
  async imageTags(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    options.signal?.throwIfAborted();
    const images = await this.#docker.listImages({ abortSignal: options.signal });
    return images.flatMap((image) => (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'));
  }

  /** `docker save` of one image, as a tar stream. */
  async saveImage(ref: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    options.signal?.throwIfAborted();
    return (await this.#docker.getImage(ref).get()) as unknown as Readable;
  }

  /** `docker load` of a tar stream made by saveImage (on this or another engine). */
  async loadImage(tar: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
    const stream = (await this.#docker.loadImage(tar, { abortSignal: options.signal })) as unknown as Readable;
    await new Promise<void>((resolve, reject) => {
      this.#docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
        const failed = err ?? output.find((o) => o.error);
        if (failed) reject(failed instanceof Error ? failed : new Error(failed.error));
        else resolve();
      });
    });
  }

  get labels(): Record<string, string> {
    return ownerLabels(this.runId);
  }

  async info(options: { signal?: AbortSignal } = {}): Promise<EngineInfo> {
    options.signal?.throwIfAborted();
    const version = await this.#docker.version();
    return {
      endpoint: this.endpoint,
      serverVersion: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
    };
  }

  async imageExists(ref: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      options.signal?.throwIfAborted();
      await this.#docker.getImage(ref).inspect();
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The image id (`sha256:...`) `ref` points at now; undefined when there is no such image. */
  async imageId(ref: string, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    try {
      options.signal?.throwIfAborted();
      return (await this.#docker.getImage(ref).inspect()).Id;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async imageLabels(ref: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, string> | undefined> {
    try {
      options.signal?.throwIfAborted();
      const info = await this.#docker.getImage(ref).inspect();
      return info.Config.Labels ?? {};
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async imageSize(ref: string): Promise<number> {
    const info = await this.#docker.getImage(ref).inspect();
    return info.Size;
  }

  async tagImage(source: string, target: string): Promise<void> {
    const [repo, tag] = splitRef(target);
    await this.#docker.getImage(source).tag({ repo, tag });
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.#docker.getImage(ref).remove({ force: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Builds an image from a folder under `docker/`, streaming its log as progress. */
  async buildImage(options: BuildImageOptions): Promise<void> {
    await buildImageFromContext(this.#docker, { ...options, labels: { ...options.labels, [LABEL.product]: PRODUCT } });
  }

  /** Turns a root filesystem tar stream into an image (the registry-free base image path). */
  async importImage(
    tar: Readable,
    ref: string,
    options: { labels?: Record<string, string>; signal?: AbortSignal; onProgress?: ProgressSink } = {},
  ): Promise<void> {
    const [repo, tag] = splitRef(ref);
    const labels = { ...options.labels, [LABEL.product]: PRODUCT };
    const changes = Object.entries(labels).map(([k, v]) => `LABEL ${k}="${v}"`);
    const stream = (await this.#docker.importImage(tar, {
      repo,
      tag,
      changes,
      abortSignal: options.signal,
    }));
    await new Promise<void>((resolve, reject) => {
      this.#docker.modem.followProgress(
        stream,
        (err: Error | null, output: { error?: string }[]) => {
          const failed = err ?? output.find((o) => o.error);
          if (failed) reject(failed instanceof Error ? failed : new Error(failed.error));
          else resolve();
        },
        (event: { status?: string }) => {
          if (event.status) (options.onProgress ?? silentProgress)({ kind: 'log', scope: `import ${ref}`, line: event.status });
        },
      );
    });
  }

  /** Tries to pull an image; false when no registry answers (the normal case on offline hosts). */
  async tryPull(ref: string, options: { signal?: AbortSignal; onProgress?: ProgressSink } = {}): Promise<boolean> {
    try {
      const stream = (await this.#docker.pull(ref, { abortSignal: options.signal }));
      await new Promise<void>((resolve, reject) => {
        this.#docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()));
      });
      return true;
    } catch (error) {
      debug('pull %s failed: %s', ref, error instanceof Error ? error.message : String(error));
      return false;
    }
  }

  /** Streams a container's whole filesystem as a tar (docker export). */
  async exportImageFilesystem(image: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    await this.#ensureReaper(image, options.signal);
    const container = await this.#docker.createContainer({ Image: image, Cmd: ['true'], Labels: this.labels });
    const raw = (await container.export({ abortSignal: options.signal })) as unknown as Readable;
    const out = new PassThrough();
    raw.pipe(out);
    const remove = () => void container.remove({ force: true, abortSignal: AbortSignal.timeout(this.#cleanupMs) }).catch(() => undefined);
    raw.once('end', remove);
    raw.once('error', (err) => {
      remove();
      out.destroy(err);
    });
    return out;
  }

  /** Runs a container to completion, collects its output, and removes it whatever happens. */
  async run(spec: ContainerSpec, options: { signal?: AbortSignal } = {}): Promise<RunResult> {
    await using container = await this.start(spec, options);
    // `return await`: the container must outlive the wait, and `await using` disposes on return.
    return await container.waitForExit(options);
  }

  /** Starts a long-running container. The handle removes it on dispose. */
  async start(spec: ContainerSpec, options: { signal?: AbortSignal } = {}): Promise<StartedContainer> {
    options.signal?.throwIfAborted();
    await this.#ensureReaper(spec.image, options.signal);
    let created: Docker.Container;
    try {
      created = await this.#docker.createContainer(toCreateOptions(spec, this.labels));
    } catch (error) {
      if (isNotFound(error)) throw new ImageMissingError(spec.image);
      throw new ContainerError(`Creating a container from ${spec.image} failed: ${messageOf(error)}`, spec.image, undefined, error);
    }
    const started = new DockerStartedContainer(
      created,
      spec,
      (c, removed) => {
        if (this.#live.delete(c) && removed) this.#removed++;
      },
      { cleanupMs: this.#cleanupMs },
    );
    this.#live.add(started);
    try {
      await started.begin(options);
    } catch (error) {
      // The start's own error is the one to tell; a removal that failed too is the reaper's to finish.
      await started.stop().catch((stopError: unknown) => debug('%s', messageOf(stopError)));
      throw error;
    }
    debug('started %s from %s', created.id.slice(0, 12), spec.image);
    return started;
  }

  /**
   * Removes containers and volumes left by earlier runs whose process is gone, and their host work folders and
   * processes; and derived images whose base image has changed since they were made (derived-images.ts).
   */
  async sweep(options: { signal?: AbortSignal } = {}): Promise<SweepReport & LeftoverSet & { images: string[] }> {
    const engine = await sweepLeftovers(this.#docker, this.runId, { ...options, callMs: this.#cleanupMs });
    const images = await sweepStaleDerivedImages(this.#docker, { ...options, callMs: this.#cleanupMs });
    const host = await sweepDeadOwners();
    return { ...engine, images, ...host };
  }

  async listContainers(filterLabels: Record<string, string>): Promise<{ id: string; labels: Record<string, string>; state: string }[]> {
    const found = await this.#docker.listContainers({
      all: true,
      filters: { label: Object.entries(filterLabels).map(([k, v]) => `${k}=${v}`) },
    });
    return found.map((c) => ({ id: c.Id, labels: c.Labels, state: c.State }));
  }

  async createVolume(name: string): Promise<void> {
    await this.#ensureReaper(undefined);
    await this.#docker.createVolume({ Name: name, Labels: this.labels });
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.#docker.getVolume(name).remove({ force: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** How many containers this client started are still there (what disposing it removes). */
  get liveContainerCount(): number {
    return this.#live.size;
  }

  /** How many containers this client started and has removed so far (the CLI counts those removed after Ctrl-C). */
  get removedContainerCount(): number {
    return this.#removed;
  }

  /** Removes every container this client started and did not remove yet; each removal has its deadline (cleanupMs). */
  async [Symbol.asyncDispose](): Promise<void> {
    const stopped = await Promise.allSettled([...this.#live].map((c) => c.stop()));
    for (const result of stopped) if (result.status === 'rejected') debug('%s', messageOf(result.reason));
    const reaper = this.#reaper;
    this.#reaper = undefined;
    await reaper?.then((r) => r.stop({ callMs: this.#cleanupMs })).catch(() => undefined);
    await this.#release?.();
  }
}

/**
 * The engine DOCKER_HOST names (unix, tcp and ssh://user@host, which docker-modem reads itself), else the local socket.
 * For tests and tools that must not sweep; connectDocker is the way in for commands.
 * `host` names another unix socket instead (chaos runs watch an engine of their own while DOCKER_HOST stays as it is).
 */
export function dockerFromEnvironment(host?: `unix://${string}`): { docker: Docker; endpoint: string; release?: () => Promise<void> } {
  if (host) return { docker: new Docker({ socketPath: host.slice('unix://'.length) }), endpoint: host };
  const fromEnv = process.env.DOCKER_HOST;
  const endpoint = fromEnv && fromEnv.length > 0 ? fromEnv : 'unix:///var/run/docker.sock';
  return { docker: fromEnv && fromEnv.length > 0 ? new Docker() : new Docker({ socketPath: '/var/run/docker.sock' }), endpoint };
}

/**
 * Connects to the engine and makes this process safe to kill: a reaper
 * watches it from outside (see reaper.ts), and what dead owners left — their
 * containers, volumes, work folders and processes — is swept first. Every
 * command that uses Docker comes through here.
 */
export async function connectDocker(options: { signal?: AbortSignal; runId?: string; onProgress?: ProgressSink } = {}): Promise<DockerClient> {
  const host = process.env.DOCKER_HOST;
  // ssh:// and tcp:// engines go through openEngine: host key checked against known_hosts, one connection reused, TLS as the CLI does.
  const engine =
    host !== undefined && host !== '' && !host.startsWith('unix://')
      ? await openEngine(parseHostAddress(host, 'DOCKER_HOST'), options)
      : { ...dockerFromEnvironment(), tls: undefined, reaperSocket: undefined };
  const { docker, endpoint, release } = engine;
  try {
    const signal = options.signal ?? AbortSignal.timeout(10_000);
    await raceAbort(docker.ping(), signal);
  } catch (error) {
    await release?.();
    if (endpoint.startsWith('tcp://')) throw explainTcpFailure(endpoint, engine.tls, error);
    throw new DockerUnavailableError(endpoint, error);
  }
  const client = new DockerClient(docker, endpoint, options.runId ?? newRunId(), release, { reaperSocket: engine.reaperSocket });
  await startReaper();
  const swept = await client.sweep({ signal: options.signal });
  const removed = swept.containers.length + swept.volumes.length + swept.paths.length + swept.processes.length;
  if (removed > 0) {
    (options.onProgress ?? silentProgress)({
      kind: 'step',
      scope: 'sweep',
      message: `removed what killed runs left: ${swept.containers.length} container(s), ${swept.volumes.length} volume(s), ${swept.paths.length} work folder(s), ${swept.processes.length} process(es)`,
    });
  }
  if (swept.images.length > 0) {
    (options.onProgress ?? silentProgress)({
      kind: 'step',
      scope: 'sweep',
      message: `removed ${swept.images.length} image(s) made from a base image that has changed since: ${swept.images.join(', ')}`,
    });
  }
  return client;
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: number }).statusCode === 404;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}
