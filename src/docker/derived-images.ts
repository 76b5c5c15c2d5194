import type Docker from 'dockerode';
import { LABEL, PRODUCT } from './labels.ts';
import { CLEANUP_CALL_MS } from './started-container.ts';
import { raceAbort } from '../util/abortable.ts';

/**
 * The labels of an image made from another one (wine's patched image is a
 * committed container of the wine-runner image): which reference it was made
 * from and what that reference pointed at then. Once the reference points
 * elsewhere (the runner image was rebuilt) or is gone, nothing starts from the
 * derived image any more, and the sweep removes it.
 */
export function derivedImageLabels(baseRef: string, baseId: string): Record<string, string> {
  return { [LABEL.derivedFrom]: baseRef, [LABEL.derivedFromId]: baseId };
}

/** Whether `labels` say the image was made from `baseId`, the image its base reference points at now. */
export function isDerivedFrom(labels: Record<string, string>, baseId: string): boolean {
  return labels[LABEL.derivedFromId] === baseId;
}

/**
 * Removes retrolab's derived images whose base reference no longer points at
 * the image they were made from. An image a container still uses (409) is
 * left for a later sweep. Each engine call has its own deadline (`callMs`,
 * default CLEANUP_CALL_MS), as the sweep of containers does.
 */
export async function sweepStaleDerivedImages(docker: Docker, options: { signal?: AbortSignal; callMs?: number } = {}): Promise<string[]> {
  const callMs = options.callMs ?? CLEANUP_CALL_MS;
  const deadline = () => AbortSignal.any([AbortSignal.timeout(callMs), ...(options.signal ? [options.signal] : [])]);
  const images = await docker.listImages({
    filters: { label: [`${LABEL.product}=${PRODUCT}`, LABEL.derivedFrom] },
    abortSignal: deadline(),
  });
  const current = new Map<string, string | undefined>();
  const removed: string[] = [];
  for (const image of images) {
    const labels = image.Labels ?? {};
    const baseRef = labels[LABEL.derivedFrom];
    if (baseRef === undefined) continue;
    if (!current.has(baseRef)) current.set(baseRef, await imageIdOf(docker, baseRef, deadline()));
    if (isDerivedFrom(labels, current.get(baseRef) ?? '')) continue;
    // Tag by tag: removing by id an image with several tags needs force, which would also take it from under a container.
    const tags = (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
    try {
      for (const ref of tags.length > 0 ? tags : [image.Id]) await docker.getImage(ref).remove({ abortSignal: deadline() });
      removed.push(tags[0] ?? image.Id);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }
  return removed;
}

async function imageIdOf(docker: Docker, ref: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    // Image inspect takes no abort signal: the deadline is raced.
    return (await raceAbort(docker.getImage(ref).inspect(), signal)).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}
