import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AgentClient } from '../agent/agent-client.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { derivedImageLabels, isDerivedFrom } from '../docker/derived-images.ts';
import { ImageMissingError } from '../docker/errors.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import { LABEL } from '../docker/labels.ts';
import { buildGuestApps, type GuestBuildResult } from '../guest-apps/build.ts';
import type { ProgressSink } from '../report/progress.ts';
import { reportWaits } from '../report/wait-reporter.ts';
import { silentProgress } from '../report/progress.ts';
import { ResourceStack } from '../util/dispose.ts';
import { resultsDir } from '../util/paths.ts';
import { TargetStartError } from './errors.ts';
import { patchRecord, type PatchRecord } from '../model/run-results.ts';
import type { SavedStatePatch, TargetHandle } from './target-handle.ts';
import { WINE_GUEST_WORK_DIR, WINE_PEER_PORT, startWineLine } from './wine-line.ts';

export interface StartTargetOptions {
  docker: DockerClient;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Where this run's artifacts go; a folder under results/artifacts by default. */
  artifactsDir?: string;
  /** How long to wait for the agent's banner (Wine starts slowly under emulation). */
  readyTimeoutMs?: number;
  /** The most the agent client takes in one getFile (limits.maxGuestFileMiB). */
  maxFileBytes?: number;
}

/**
 * Starts the `wine` target: the agent under Wine in a wine-runner container
 * (see wine-line.ts), the scenario peer on 127.0.0.1:7000 in the same
 * container, and returns the handle with the agent connected.
 */
export async function startWineTarget(options: StartTargetOptions): Promise<TargetHandle> {
  const prepared = await prepareWineTarget(options);
  return startWineGuest({ ...options, binDir: prepared.binDir });
}

/** The built programs a wine guest sees read-only. */
export interface PreparedWine {
  binDir: string;
  built: readonly GuestBuildResult[];
}

/**
 * What the `wine` target needs before its first guest: the guest programs,
 * which every container sees read-only. The prefix is baked into the
 * wine-runner image, so a guest is a fresh container and nothing else.
 */
export async function prepareWineTarget(options: { signal?: AbortSignal; onProgress?: ProgressSink }): Promise<PreparedWine> {
  const built = await buildGuestApps({
    signal: options.signal,
    onProgress: options.onProgress ?? silentProgress,
  });
  const agentExe = built.find((b) => b.name === 'agent')?.path;
  if (agentExe === undefined) throw new Error('buildGuestApps built no agent');
  return { binDir: dirname(agentExe), built };
}

/**
 * A fresh wine-runner container with its own copy of the prefix (the
 * image's), its own wineserver and its own agent: nothing of an earlier
 * scenario's guest survives into it. Disposing it removes the container and
 * its run folder. `binDir`: the programs prepareWineTarget built.
 */
export async function startWineGuest(options: StartTargetOptions & { binDir: string; image?: string }): Promise<TargetHandle> {
  const progress = options.onProgress ?? silentProgress;
  const started = Date.now();
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const signal = AbortSignal.any([AbortSignal.timeout(readyTimeoutMs), ...(options.signal ? [options.signal] : [])]);
  await using stack = new ResourceStack();

  progress({ kind: 'step', scope: 'wine', message: 'starting the Wine container and the agent' });
  // The container's serial socket, then the agent's banner: each wait shows as it lasts.
  using waits = reportWaits(progress, 'wine');
  const line = stack.use(
    await startWineLine(options.docker, { binDir: options.binDir, image: options.image, signal, onWait: waits.onWait }),
  );
  const artifactsDir = options.artifactsDir ?? join(resultsDir(), 'artifacts', `${options.docker.runId}-wine`);
  const collectArtifacts = async (reason: string): Promise<string[]> => {
    await mkdir(artifactsDir, { recursive: true });
    const { stdout, stderr } = line.container.output();
    const file = join(artifactsDir, 'container.log');
    await writeFile(file, `reason: ${reason}\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n`);
    return [file];
  };

  let agent: AgentClient;
  try {
    agent = stack.use(
      await AgentClient.connect(line.stream, {
        signal,
        handshakeTimeoutMs: readyTimeoutMs,
        maxFileBytes: options.maxFileBytes,
        onWait: waits.onWait,
      }),
    );
    waits.end();
  } catch (error) {
    const files = await collectArtifacts(`start failed: ${error instanceof Error ? error.message : String(error)}`).catch(() => []);
    throw new TargetStartError(`The wine target's agent did not answer: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      context: { artifacts: files, elapsedMs: Date.now() - started },
    });
  }
  const startMs = Date.now() - started;
  progress({ kind: 'done', scope: 'wine', message: `agent ready: ${agent.banner.text}`, durationMs: startMs });

  const owned = stack.move();
  return {
    target: 'wine',
    agent,
    peer: { host: '127.0.0.1', port: WINE_PEER_PORT },
    guestWorkDir: WINE_GUEST_WORK_DIR,
    artifactsDir,
    guest: { start: 'container', id: line.container.id.slice(0, 12), startMs, from: line.container.image },
    collectArtifacts,
    [Symbol.asyncDispose]: () => owned[Symbol.asyncDispose](),
  };
}

/** Where patched wine-runner images go: one tag per patch key and wine-runner image. */
export const PATCHED_WINE_REPO = 'retrolab/wine-patched';

/**
 * `--patch-when saved-state` on wine: the patch is installed once, in a
 * container of the wine-runner image, and that container's file system (the
 * prefix with the patch folder and whatever the install command changed) is
 * committed as an image that every scenario's container then starts from.
 * Wine is ended first (`wineserver -k`), so the registry is on disk, not only
 * in the wineserver's memory. The programs and the run folder are bind mounts
 * and stay out of the image.
 *
 * The image is tagged by the patch key and the wine-runner image's id, and
 * keeps the install's record in a label: a later run with the same patch on
 * the same wine-runner image starts from it again (`reused: true`, the record
 * of the install that made it). Once the wine-runner image is rebuilt, the
 * sweep removes it (derived-images.ts).
 */
export async function patchedWineImage(
  options: StartTargetOptions & { binDir: string; patch: SavedStatePatch },
): Promise<{ image: string; record: PatchRecord }> {
  const progress = options.onProgress ?? silentProgress;
  const started = Date.now();
  const signal = options.signal;
  const baseId = await options.docker.imageId(RUNNER_IMAGES.wine, { signal });
  if (baseId === undefined) throw new ImageMissingError(RUNNER_IMAGES.wine);
  const tag = createHash('sha256').update(`${options.patch.key}\0${baseId}`).digest('hex').slice(0, 16);
  const image = `${PATCHED_WINE_REPO}:${tag}`;
  const saved = await options.docker.imageLabels(image, { signal });
  const savedRecord = saved && isDerivedFrom(saved, baseId) ? readPatchLabel(saved[LABEL.record]) : undefined;
  if (savedRecord) {
    progress({ kind: 'done', scope: 'wine', message: `patched image ${image} (made by an earlier run)`, durationMs: Date.now() - started });
    return { image, record: { ...savedRecord, appliedTo: 'saved-state', savedState: { kind: 'image', id: image, reused: true } } };
  }
  progress({ kind: 'step', scope: 'wine', message: 'installing the patch once, in the container the patched image is made from' });
  await using line = await startWineLine(options.docker, { binDir: options.binDir, image: baseId, signal });
  const agent = await AgentClient.connect(line.stream, {
    signal: AbortSignal.any([AbortSignal.timeout(options.readyTimeoutMs ?? 180_000), ...(signal ? [signal] : [])]),
    handshakeTimeoutMs: options.readyTimeoutMs ?? 180_000,
    maxFileBytes: options.maxFileBytes,
  });
  let record: PatchRecord;
  try {
    record = await options.patch.install({ agent, guestWorkDir: WINE_GUEST_WORK_DIR }, { signal });
  } finally {
    await agent.close().catch(() => undefined);
  }
  // wineserver -k: SIGINT, on which the wineserver ends every Wine process and flushes the registry. The agent
  // is the container's main process, so the container stops, and the exec is killed with it (exit 137): its
  // own exit code says nothing; the container's exit does.
  await line.container.exec(['wineserver', '-k'], { signal });
  try {
    await line.container.waitForExit({ signal: AbortSignal.any([AbortSignal.timeout(60_000), ...(signal ? [signal] : [])]) });
  } catch (error) {
    signal?.throwIfAborted();
    throw new TargetStartError(
      'the wine container did not stop within 60 s of wineserver -k, so its prefix was not saved as the patched image',
      {
        cause: error,
      },
    );
  }
  // An image under this tag without a readable record (made by an older retrolab) is made again.
  await options.docker.removeImage(image);
  const id = await line.container.commit(
    { repo: PATCHED_WINE_REPO, tag },
    {
      signal,
      labels: {
        ...derivedImageLabels(RUNNER_IMAGES.wine, baseId),
        [LABEL.record]: Buffer.from(JSON.stringify(record)).toString('base64'),
      },
    },
  );
  progress({ kind: 'done', scope: 'wine', message: `patched image ${image} (${id.slice(7, 19)})`, durationMs: Date.now() - started });
  return { image, record: { ...record, appliedTo: 'saved-state', savedState: { kind: 'image', id: image, reused: false } } };
}

/** The install record a patched image keeps in its label; undefined when the label is missing or not a record. */
function readPatchLabel(value: string | undefined): PatchRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = patchRecord.safeParse(JSON.parse(Buffer.from(value, 'base64').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
