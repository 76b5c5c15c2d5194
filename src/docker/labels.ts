import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Every container, image and volume retrolab creates carries these labels, so
 * leftovers of a killed run can be found and removed by the next one.
 */
export const LABEL = {
  product: 'io.retrolab.product',
  runId: 'io.retrolab.run-id',
  ownerPid: 'io.retrolab.owner-pid',
  ownerHost: 'io.retrolab.owner-host',
  inputHash: 'io.retrolab.input-hash',
  /** An image made from another (derived-images.ts): the reference it was made from, and that reference's image id then. */
  derivedFrom: 'io.retrolab.derived-from',
  derivedFromId: 'io.retrolab.derived-from-id',
  /** What went into an image a run made (base64 of JSON), read back when a later run reuses the image. */
  record: 'io.retrolab.record',
} as const;

export const PRODUCT = 'retrolab';

export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function ownerLabels(runId: string): Record<string, string> {
  return {
    [LABEL.product]: PRODUCT,
    [LABEL.runId]: runId,
    [LABEL.ownerPid]: String(process.pid),
    [LABEL.ownerHost]: hostname(),
  };
}
