import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HostCommandError, runHostCommand, tail } from '../../src/util/host-command.ts';
import { spawn } from 'node:child_process';
import { PrerequisiteError } from '../../src/errors.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';
import { closeBatch, countSent, emptyReport, FUZZ_SEED, takeFrame, type FuzzReport } from './frame-fuzz.ts';
import { FLUSH, frameKey, fuzzBatches } from './fuzz-inputs.ts';

/**
 * The agent's receive loop (guest-apps/agent/receive.c, the code the guest
 * runs) built for the host with gcc and AddressSanitizer + UBSan behind
 * agent-receive/driver.c, fed the inputs the FrameDecoder fuzz gets. The
 * driver aborts on any broken buffer bound; here every sound frame must come
 * out once and unchanged, and the events must be the FrameDecoder's, one for one.
 */

const RECEIVER = 'guest-apps/agent/receive.c';
const SOURCES = ['test/chaos/agent-receive/driver.c', RECEIVER, 'guest-apps/agent/crc32.c', 'guest-apps/agent/bytes.c'];
const RESET = 0xffffffff;

export interface AgentFuzzReport extends FuzzReport {
  reads: number;
  /** Most bytes the receiver held while waiting for more. */
  maxHeld: number;
  /** Least room rx_space offered for a read. */
  minRoom: number;
  sanitizers: string;
}

/** A deliberate bug put into a copy of receive.c, which the fuzz must catch (proof that it can fail). */
export interface Mutant {
  name: string;
  from: string;
  to: string;
}

export const MUTANTS: Mutant[] = [
  { name: 'no payload length limit', from: 'if (out->len > MAX_PAYLOAD) {', to: 'if (0) {' },
  { name: 'no compaction before a read', from: 'if (b->start > 0 && RX_SIZE - b->end < RX_READ_MIN) {', to: 'if (0) {' },
  { name: 'trailer read before it arrived', from: 'if (avail < total) {', to: 'if (avail + 4 < total) {' },
];

/** Builds the driver into build/host-fuzz/ with the sanitizers; fails saying what is missing when gcc is not there. */
export async function buildAgentReceiveDriver(signal?: AbortSignal, mutant?: Mutant): Promise<{ path: string; sanitizers: string }> {
  const outDir = join(PROJECT_ROOT, 'build', 'host-fuzz', mutant ? `mutant-${MUTANTS.indexOf(mutant)}` : '');
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, 'agent-receive');
  const sources = SOURCES.map((s) => join(PROJECT_ROOT, s));
  if (mutant) {
    const original = await readFile(join(PROJECT_ROOT, RECEIVER), 'utf8');
    if (!original.includes(mutant.from))
      throw new Error(`mutant "${mutant.name}": ${RECEIVER} no longer has "${mutant.from}"; update MUTANTS`);
    const copy = join(outDir, 'receive.c');
    await writeFile(copy, original.replace(mutant.from, mutant.to));
    sources[sources.indexOf(join(PROJECT_ROOT, RECEIVER))] = copy;
  }
  const sanitizers = '-fsanitize=address,undefined';
  const args = [
    '-std=c89',
    '-pedantic',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-g',
    '-O1',
    sanitizers,
    '-fno-sanitize-recover=all',
    '-fno-omit-frame-pointer',
    // The stand-in rt.h comes first: the agent's headers then need no windows.h.
    `-I${join(PROJECT_ROOT, 'test/chaos/agent-receive')}`,
    `-I${join(PROJECT_ROOT, 'guest-apps/agent')}`,
    ...sources,
    '-o',
    path,
  ];
  try {
    await runHostCommand('gcc', args, { signal, timeoutMs: 120_000 });
  } catch (error) {
    if (error instanceof HostCommandError && error.missing) {
      throw new PrerequisiteError(
        "gcc is not installed: the agent's receive fuzz builds guest-apps/agent/receive.c for the host",
        'apt-get install gcc (scripts/host-setup.sh installs the build tools)',
        { cause: error },
      );
    }
    throw error;
  }
  return { path, sanitizers };
}

/** Runs the driver with stdin streamed; a driver that aborts mid-input ends the stream (EPIPE) instead of this process. */
function runDriver(
  path: string,
  input: Readable,
  signal: AbortSignal | undefined,
): Promise<{ exitCode: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, [], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
      signal,
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    child.stdin.on('error', () => input.destroy());
    input.pipe(child.stdin);
    child.once('error', reject);
    child.once('close', (exitCode, sig) => resolve({ exitCode, signal: sig, stdout: Buffer.concat(stdout).toString(), stderr }));
  });
}

function record(bytes: Buffer): Buffer[] {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(bytes.length);
  return [head, bytes];
}

export async function fuzzAgentReceive(
  inputs: number,
  options: { seed?: number; signal?: AbortSignal; mutant?: Mutant } = {},
): Promise<AgentFuzzReport> {
  const { path, sanitizers } = await buildAgentReceiveDriver(options.signal, options.mutant);
  const report: AgentFuzzReport = { ...emptyReport(inputs), reads: 0, maxHeld: 0, minRoom: 0, sanitizers };
  const expectations: Map<string, number>[] = [];
  function* stdin(): Generator<Buffer> {
    for (const batch of fuzzBatches(inputs, options.seed ?? FUZZ_SEED)) {
      expectations.push(countSent(report, batch));
      for (const input of batch) for (const read of input.reads) yield* record(read);
      yield* record(FLUSH);
      const reset = Buffer.alloc(4);
      reset.writeUInt32LE(RESET);
      yield reset;
    }
  }
  const run = await runDriver(path, Readable.from(stdin()), options.signal);
  if (run.exitCode !== 0) {
    report.failures.push(`the agent's receiver crashed or broke a bound: exit ${run.exitCode ?? run.signal}: ${tail(run.stderr, 600)}`);
    return report;
  }
  const digest = createHash('sha256');
  let batch = 0;
  for (const line of run.stdout.split('\n')) {
    const [tag, ...fields] = line.split(' ');
    const where = `batch ${batch}`;
    const expected = expectations[batch];
    if (tag === 'F' && expected) {
      const [type, seq, length, , payloadCrc] = fields.map(Number) as [number, number, number, number, number];
      const key = frameKey({ type, seq, length, payloadCrc });
      digest.update(`F ${key}\n`);
      takeFrame(report, expected, key, where);
    } else if (tag === 'L' || tag === 'V') {
      report.rejected++;
      digest.update(`${line}\n`);
    } else if (tag === 'N') {
      report.corrupt++;
      digest.update(`N ${fields[0]}\n`);
    } else if (tag === 'R' && expected) {
      closeBatch(report, expected, where);
      batch++;
    } else if (tag === 'S') {
      [report.reads, report.maxHeld, report.minRoom] = fields.map(Number) as [number, number, number];
    } else if (line !== '') report.failures.push(`unexpected driver line: ${line.slice(0, 100)}`);
  }
  if (batch !== expectations.length) report.failures.push(`the driver reset ${batch} times for ${expectations.length} batches`);
  if (report.reads === 0) report.failures.push('the driver printed no summary');
  if (report.rejected !== report.rejectedSent)
    report.failures.push(`${report.rejected} rejected of ${report.rejectedSent} rejectable headers`);
  if (report.corrupt < report.damagedSent)
    report.failures.push(`${report.corrupt} corrupt reported of ${report.damagedSent} damaged frames`);
  report.eventDigest = digest.digest('hex');
  report.maxBuffered = report.maxHeld;
  return report;
}
