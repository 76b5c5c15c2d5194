// Agent put/get throughput over whatever line the client has.
import type { GuestAgent } from '../src/agent/guest-agent.ts';
import { row, Samples, type BenchRow } from './bench-row.ts';

export const TRANSFER_BYTES = 256 * 1024;
const TRANSFER_RUNS = 5;

/** Bytes that hold no frame magic by accident often, the same every run. */
export function transferData(bytes = TRANSFER_BYTES): Buffer {
  return Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 2654435761) >>> 24));
}

export async function transferRows(
  group: string,
  target: string,
  agent: GuestAgent,
  guestPath: string,
  options: { signal: AbortSignal; runs: number | undefined },
): Promise<BenchRow[]> {
  const data = transferData();
  const put = new Samples();
  const get = new Samples();
  for (let i = 0; i < (options.runs ?? TRANSFER_RUNS); i++) {
    let started = performance.now();
    await agent.putFile(guestPath, data, { signal: options.signal });
    put.add(data.length / 1024 / ((performance.now() - started) / 1000));
    started = performance.now();
    const back = await agent.getFile(guestPath, { signal: options.signal });
    get.add(back.length / 1024 / ((performance.now() - started) / 1000));
    if (!back.equals(data)) throw new Error(`bench: the file came back different from ${target} (${back.length} of ${data.length} bytes)`);
  }
  const kib = TRANSFER_BYTES / 1024;
  return [
    row(group, target, `agent put, host to guest (${kib} KiB file)`, 'KiB/s', put),
    row(group, target, `agent get, guest to host (${kib} KiB file)`, 'KiB/s', get),
  ];
}
