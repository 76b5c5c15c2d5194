import { createHash } from 'node:crypto';
import { crc32 } from '../../src/util/crc32.ts';
import { FrameDecoder, HEADER_SIZE, MAX_PAYLOAD, TRAILER_SIZE } from '../../src/agent/frame-codec.ts';
import { FLUSH, frameKey, fuzzBatches, sentKey, type FuzzInput } from './fuzz-inputs.ts';

/**
 * A randomized fuzz of the host's FrameDecoder over fuzz-inputs.ts. Checks on
 * every read: no exception, the decoder never holds more than one largest
 * frame plus the read it was given; per batch: every sound frame comes out
 * exactly once and unchanged, nothing else comes out, every rejected header
 * is reported, every damaged frame is reported corrupt.
 */

export interface FuzzReport {
  inputs: number;
  framesSent: number;
  framesDecoded: number;
  rejectedSent: number;
  rejected: number;
  damagedSent: number;
  corrupt: number;
  maxBuffered: number;
  /** sha256 of the event sequence (frames, rejections, corrupt frames), to compare the two receivers. */
  eventDigest: string;
  failures: string[];
}

export const FUZZ_SEED = 0x5eed;

export function emptyReport(inputs: number): FuzzReport {
  return {
    inputs,
    framesSent: 0,
    framesDecoded: 0,
    rejectedSent: 0,
    rejected: 0,
    damagedSent: 0,
    corrupt: 0,
    maxBuffered: 0,
    eventDigest: '',
    failures: [],
  };
}

/** Counts what a batch sent, to check against what the receiver reported. */
export function countSent(report: FuzzReport, batch: FuzzInput[]): Map<string, number> {
  const expected = new Map<string, number>();
  for (const input of batch) {
    for (const frame of input.frames) {
      report.framesSent++;
      const key = sentKey(frame);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    if (input.kind === 'too-large' || input.kind === 'bad-version') report.rejectedSent++;
    if (input.kind === 'damaged') report.damagedSent++;
  }
  return expected;
}

/** Takes one decoded frame off `expected`; a frame nobody sent (or sent fewer times) is a failure. */
export function takeFrame(report: FuzzReport, expected: Map<string, number>, key: string, where: string): void {
  report.framesDecoded++;
  const left = expected.get(key) ?? 0;
  if (left === 0) report.failures.push(`${where}: decoded a frame that was not sent (or sent fewer times): ${key}`);
  else if (left === 1) expected.delete(key);
  else expected.set(key, left - 1);
}

export function closeBatch(report: FuzzReport, expected: Map<string, number>, where: string): void {
  const missing = [...expected.values()].reduce((a, b) => a + b, 0);
  if (missing > 0) report.failures.push(`${where}: ${missing} sound frame(s) never decoded`);
}

export function fuzzFrameDecoder(inputs: number, seed = FUZZ_SEED): FuzzReport {
  const report = emptyReport(inputs);
  const digest = createHash('sha256');
  let first = 0;
  for (const batch of fuzzBatches(inputs, seed)) {
    const where = `inputs ${first}-${first + batch.length - 1}`;
    const expected = countSent(report, batch);
    const decoder = new FrameDecoder();
    const reads = batch.flatMap((input) => input.reads);
    reads.push(FLUSH);
    for (const chunk of reads) {
      let events;
      try {
        events = decoder.push(chunk);
      } catch (error) {
        report.failures.push(`${where}: push threw ${String(error)}`);
        break;
      }
      report.maxBuffered = Math.max(report.maxBuffered, decoder.buffered);
      if (decoder.buffered > HEADER_SIZE + MAX_PAYLOAD + TRAILER_SIZE + chunk.length) {
        report.failures.push(`${where}: decoder holds ${decoder.buffered} bytes`);
      }
      for (const event of events) {
        if (event.kind === 'frame') {
          const key = frameKey({
            type: event.frame.type,
            seq: event.frame.seq,
            length: event.frame.payload.length,
            payloadCrc: crc32(event.frame.payload),
          });
          digest.update(`F ${key}\n`);
          takeFrame(report, expected, key, where);
        } else if (event.kind === 'rejected') {
          report.rejected++;
          digest.update(event.reason === 'too-large' ? `L ${event.seq} ${event.length}\n` : `V ${event.seq} ${event.version}\n`);
        } else if (event.kind === 'corrupt') {
          report.corrupt++;
          digest.update(`N ${event.seq}\n`);
        }
      }
    }
    closeBatch(report, expected, where);
    first += batch.length;
  }
  if (report.rejected !== report.rejectedSent)
    report.failures.push(`${report.rejected} rejected of ${report.rejectedSent} rejectable headers`);
  if (report.corrupt < report.damagedSent)
    report.failures.push(`${report.corrupt} corrupt reported of ${report.damagedSent} damaged frames`);
  report.eventDigest = digest.digest('hex');
  return report;
}
