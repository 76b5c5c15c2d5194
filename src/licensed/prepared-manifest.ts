import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { targetName } from '../config/vm-spec.ts';
import type { PreparedMarker } from './guest-payload.ts';

/**
 * A prepared qcow2 carries its marker inside (C:\RETROLAB\PREPARED.TXT), but
 * reading that needs a raw conversion; this sidecar (`<image>.retrolab.json`)
 * repeats it so `doctor` and `lab` can say "ready" and report the connection
 * limit at once. It is trusted only while the image's size and mtime match.
 */

const manifestSchema = z.object({
  format: z.literal(1),
  marker: z.object({
    format: z.number(),
    target: targetName,
    retrolabVersion: z.string(),
    agentSha256: z.string(),
    maxConnections: z.number().nullable(),
    preparedFrom: z.string(),
    preparedAt: z.string(),
  }),
  fileSystem: z.enum(['fat12', 'fat16', 'fat32', 'ntfs', 'unknown']),
  source: z.object({ path: z.string(), identity: z.string() }),
  image: z.object({ size: z.number(), mtimeMs: z.number() }),
});
export type PreparedManifest = z.infer<typeof manifestSchema>;

export function manifestPathFor(image: string): string {
  return `${image}.retrolab.json`;
}

export async function writePreparedManifest(
  image: string,
  fields: Pick<PreparedManifest, 'marker' | 'fileSystem' | 'source'>,
): Promise<PreparedManifest> {
  const info = await stat(image);
  const manifest: PreparedManifest = { format: 1, ...fields, image: { size: info.size, mtimeMs: info.mtimeMs } };
  const path = manifestPathFor(image);
  await writeFile(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
  return manifest;
}

/** The manifest of a prepared image, or undefined when there is none or the image changed since. */
export async function readPreparedManifest(image: string): Promise<(PreparedManifest & { marker: PreparedMarker }) | undefined> {
  let text: string;
  try {
    text = await readFile(manifestPathFor(image), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return undefined;
  const info = await stat(image).catch(() => undefined);
  if (!info || info.size !== parsed.data.image.size || info.mtimeMs !== parsed.data.image.mtimeMs) return undefined;
  return parsed.data;
}
