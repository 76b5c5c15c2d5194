import { readDiskLayout } from './disk-layout.ts';
import { inspectImageFile } from './disk-image-file.ts';
import { FatVolume } from './fat-volume.ts';
import { GUEST_DIR, GUEST_FILES, parseMarker, type PreparedMarker } from './guest-payload.ts';
import { configuredImage, imageEnvVariable, type LicensedTarget } from './licensed-config.ts';
import { readPreparedManifest } from './prepared-manifest.ts';
import { errorMessage } from '../errors.ts';

/** What `doctor` and `lab` say about a licensed target. */
export type LicensedReadiness =
  | { state: 'ready'; image: string; from: string; marker: PreparedMarker }
  | { state: 'not configured'; reason: string; fix: string }
  | { state: 'not prepared'; image: string; from: string; reason: string; fix: string };

/**
 * Ready means the configured image is a prepared one: its sidecar manifest
 * says so, or (for a raw image, readable in place) C:\RETROLAB\PREPARED.TXT
 * names this target. Other formats without a manifest count as not prepared.
 */
export async function licensedReadiness(
  target: LicensedTarget,
  options: { root?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<LicensedReadiness> {
  const configured = await configuredImage(target, options);
  if (!configured.configured) return { state: 'not configured', reason: configured.reason, fix: configured.fix };
  const { path, from } = configured;
  const prepare = `retrolab image prepare --target ${target} --image ${path}, then point ${imageEnvVariable(target)} at the image it prints`;
  const notPrepared = (reason: string, fix = prepare): LicensedReadiness => ({ state: 'not prepared', image: path, from, reason, fix });
  const manifest = await readPreparedManifest(path);
  if (manifest) {
    return manifest.marker.target === target
      ? { state: 'ready', image: path, from, marker: manifest.marker }
      : notPrepared(`prepared for ${manifest.marker.target}, not ${target}`, `point ${from} at a ${target} image`);
  }
  try {
    const info = await inspectImageFile(path, { signal: options.signal });
    if (info.format !== 'raw') return notPrepared(`${info.format} image without a retrolab manifest (${path}.retrolab.json)`);
    const layout = await readDiskLayout(path);
    const volume = new FatVolume(path, layout.volumeOffset, { signal: options.signal });
    const markerPath = `${GUEST_DIR}\\${GUEST_FILES.marker}`;
    if (!(await volume.exists(markerPath))) return notPrepared(`no C:\\${markerPath} on the image`);
    const marker = parseMarker((await volume.read(markerPath)).toString('latin1'));
    if (!marker || marker.target !== target) return notPrepared(`C:\\${markerPath} is not a ${target} marker`);
    return { state: 'ready', image: path, from, marker };
  } catch (error) {
    return notPrepared(errorMessage(error).split('\n')[0] ?? 'unreadable');
  }
}
