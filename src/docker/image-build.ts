import type Docker from 'dockerode';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { trackProgress } from '../report/progress-tracker.ts';
import { ImageBuildError } from './errors.ts';

export interface BuildImageOptions {
  contextDir: string;
  tags: string[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  onProgress?: ProgressSink;
  signal?: AbortSignal;
}

export async function listContextFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export async function buildImageFromContext(docker: Docker, options: BuildImageOptions): Promise<void> {
  const [first, ...more] = options.tags;
  if (!first) throw new ImageBuildError('(no tag)', options.contextDir, ['buildImage needs at least one tag']);
  const sink = options.onProgress ?? silentProgress;
  const scope = `build ${first}`;
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
  };
  // A build says nothing for minutes at a time (apt installing Wine): the time so far and its latest line show it is alive.
  using progressed = trackProgress(sink, { scope, what: 'building' });
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      { context: options.contextDir, src: await listContextFiles(options.contextDir) },
      {
        t: first,
        buildargs: options.buildArgs ?? {},
        labels: options.labels ?? {},
        rm: true,
        forcerm: true,
        abortSignal: options.signal,
      },
    );
  } catch (error) {
    throw new ImageBuildError(first, options.contextDir, [error instanceof Error ? error.message : String(error)], error);
  }
  const failure = await new Promise<string | undefined>((resolve, reject) => {
    let failed: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve(failed)),
      (event: BuildEvent) => {
        const text = event.error ?? event.errorDetail?.message;
        if (text) {
          failed = text;
          remember(text);
          return;
        }
        for (const line of (event.stream ?? event.status ?? '').split('\n')) {
          if (line.trim() === '') continue;
          remember(line);
          progressed.set({ detail: line.trim().slice(0, 200) });
          sink({ kind: 'log', scope, line });
        }
      },
    );
  }).catch((error: unknown) => {
    throw new ImageBuildError(first, options.contextDir, tail, error);
  });
  if (failure !== undefined) throw new ImageBuildError(first, options.contextDir, tail);
  for (const tag of more) {
    const colon = tag.lastIndexOf(':');
    await docker.getImage(first).tag({ repo: tag.slice(0, colon), tag: tag.slice(colon + 1) });
  }
}
