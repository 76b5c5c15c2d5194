// wine-vm's COM1 (QEMU's emulated 16550): agent put/get against, in the same guest, the raw rate of the
// line in each direction: a plain byte pump with no protocol, `dd` on /dev/ttyS0 in the guest's Linux,
// started through the agent (`start /unix`) with the agent's Wine process stopped (SIGSTOP) so that
// nothing else reads the port meanwhile. Goal (issue 13 item 4): the agent moves >= 75% of raw each way.
// Where put's time goes shows in two more figures: the bytes the guest kernel takes per serial interrupt
// (ttyS0's count in /proc/interrupts) under each reader, and the empty PING round trip, the cost each
// stop-and-wait chunk adds.
import type { Duplex } from 'node:stream';
import { loadVmSpec } from '../src/config/load-vm-spec.ts';
import { prepareQemuTarget } from '../src/targets/qemu-target.ts';
import type { TargetHandle } from '../src/targets/target-handle.ts';
import { atLeast, row, Samples, type BenchGroup } from './bench-row.ts';
import { transferData, transferRows } from './transfer.ts';

const PUMP_BYTES = 1024 * 1024;
const PUMP_RUNS = 3;
const PUMP_SCRIPT_GUEST = '/tmp/retrolab-pump.sh';
const READY = 'RLPUMP-READY\n';
const DONE = /RLPUMP-DONE (\d+) (\d+)\n/;
const PINGS_PER_RUN = 3;

/**
 * tx: the guest writes $2 zero bytes to ttyS0; rx: it reads $2 bytes from ttyS0 after saying READY.
 * It stops the agent first (after the EXEC reply that started it has gone out), and says DONE with
 * its own measure of the dd in microseconds and the serial interrupts it took before letting the agent go on.
 */
const PUMP_SCRIPT = `#!/bin/sh
mode=$1
blocks=$(($2 / 4096))
irqs() { grep 'ttyS0$' /proc/interrupts | { read -r _ counts; n=0; for c in $counts; do case $c in *[!0-9]*) break ;; esac; n=$((n + c)); done; echo $n; }; }
sleep 1
pids=$(pgrep -f '^/opt/retrolab/agent.exe')
[ -n "$pids" ] || { printf 'RLPUMP-FAILED no agent process\\n' >/dev/ttyS0; exit 1; }
kill -STOP $pids
i0=$(irqs)
t0=$(date +%s%N)
if [ "$mode" = tx ]; then
  dd if=/dev/zero of=/dev/ttyS0 bs=4096 count=$blocks 2>/tmp/retrolab-pump.err
else
  printf '${READY.trim()}\\n' >/dev/ttyS0
  dd if=/dev/ttyS0 of=/dev/null bs=4096 count=$blocks iflag=fullblock 2>/tmp/retrolab-pump.err
fi
t1=$(date +%s%N)
i1=$(irqs)
printf 'RLPUMP-DONE %s %s\\n' $(( (t1 - t0) / 1000 )) $((i1 - i0)) >/dev/ttyS0
kill -CONT $pids
`;

/** Records every chunk the line delivers (time, bytes) until `until` matches the text seen so far. */
function tap(
  line: Duplex,
  until: RegExp | string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ at: number; bytes: number; text: string }[]> {
  return new Promise((resolve, reject) => {
    const chunks: { at: number; bytes: number; text: string }[] = [];
    let text = '';
    const onData = (chunk: Buffer) => {
      const at = performance.now();
      const latin = chunk.toString('latin1');
      chunks.push({ at, bytes: chunk.length, text: latin });
      text = (text + latin).slice(-256);
      if (typeof until === 'string' ? text.includes(until) : until.test(text)) finish();
    };
    const timer = setTimeout(
      () => finish(new Error(`no "${String(until)}" on the line within ${timeoutMs} ms (last: ${JSON.stringify(text.slice(-60))})`)),
      timeoutMs,
    );
    const onAbort = () => finish(signal.reason as Error);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      line.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(chunks);
    };
    line.on('data', onData);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function writeAll(line: Duplex, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => line.write(data, (error) => (error ? reject(error) : resolve())));
}

async function startPump(handle: TargetHandle, mode: 'tx' | 'rx', signal: AbortSignal): Promise<void> {
  const result = await handle.agent.exec(`start /unix /bin/sh ${PUMP_SCRIPT_GUEST} ${mode} ${PUMP_BYTES}`, { signal, timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`starting the byte pump failed (exit ${result.exitCode}): ${result.stderr || result.stdout}`);
}

interface PumpResult {
  kibs: number;
  guestKibs: number;
  /** Serial interrupts (ttyS0, both directions) the guest took during the dd. */
  irqs: number;
}

/** Guest to host: KiB/s from the first zero byte's arrival to the last one's. */
async function rawTx(handle: TargetHandle, line: Duplex, signal: AbortSignal): Promise<PumpResult> {
  const seen = tap(line, DONE, 120_000, signal);
  await startPump(handle, 'tx', signal);
  const chunks = await seen;
  const text = chunks.map((c) => c.text).join('');
  const marker = text.lastIndexOf('RLPUMP-DONE');
  const zeros = text.slice(0, marker).replace(/[^\0]/g, '').length;
  if (zeros < PUMP_BYTES) throw new Error(`the guest sent ${zeros} of ${PUMP_BYTES} zero bytes before DONE: bytes were lost`);
  const data = chunks.filter((c) => c.text.includes('\0'));
  const first = data[0]!;
  const last = data.at(-1)!;
  const done = DONE.exec(text)!;
  return {
    kibs: (zeros - first.bytes) / 1024 / ((last.at - first.at) / 1000),
    guestKibs: PUMP_BYTES / 1024 / (Number(done[1]) / 1e6),
    irqs: Number(done[2]),
  };
}

/** Host to guest: KiB/s from the first byte written to the guest's DONE. */
async function rawRx(handle: TargetHandle, line: Duplex, signal: AbortSignal): Promise<PumpResult> {
  const ready = tap(line, READY, 60_000, signal);
  await startPump(handle, 'rx', signal);
  await ready;
  const done = tap(line, DONE, 120_000, signal);
  const payload = Buffer.alloc(PUMP_BYTES, 0x5a);
  const started = performance.now();
  await writeAll(line, payload);
  const chunks = await done;
  const ended = chunks.at(-1)!.at;
  const said = DONE.exec(chunks.map((c) => c.text).join(''))!;
  return {
    kibs: PUMP_BYTES / 1024 / ((ended - started) / 1000),
    guestKibs: PUMP_BYTES / 1024 / (Number(said[1]) / 1e6),
    irqs: Number(said[2]),
  };
}

/** ttyS0's interrupt count in the guest (every CPU's column summed), read through the agent. */
async function serialIrqs(handle: TargetHandle, signal: AbortSignal): Promise<number> {
  const result = await handle.agent.exec('type Z:\\proc\\interrupts', { signal, timeoutMs: 30_000 });
  const line = result.stdout.split(/\r?\n/).find((l) => l.trimEnd().endsWith('ttyS0'));
  if (result.exitCode !== 0 || !line) {
    throw new Error(`reading /proc/interrupts in the guest gave no ttyS0 line (exit ${result.exitCode}): ${result.stdout.slice(0, 200)}`);
  }
  const counts = line.trim().split(/\s+/).slice(1);
  const end = counts.findIndex((c) => !/^\d+$/.test(c));
  const numeric = end < 0 ? counts : counts.slice(0, end);
  return numeric.reduce((sum, c) => sum + Number(c), 0);
}

/** Bytes per serial interrupt while the agent receives a put (the interrupts of the EXECs that count them included). */
async function putBytesPerIrq(handle: TargetHandle, guestPath: string, signal: AbortSignal): Promise<number> {
  const data = transferData();
  const before = await serialIrqs(handle, signal);
  await handle.agent.putFile(guestPath, data, { signal });
  const after = await serialIrqs(handle, signal);
  return data.length / (after - before);
}

export const serialWineVm: BenchGroup = {
  name: 'serial',
  describe: 'wine-vm COM1: agent put/get vs the raw 16550 rate each way (dd on ttyS0 in the guest), goal >= 75%',
  async run({ docker, signal, onProgress, runs }) {
    const spec = await loadVmSpec('wine-vm', { signal });
    if (spec.kind !== 'qemu') throw new Error('vms/wine-vm/spec.json is not a QEMU spec');
    const prepared = await prepareQemuTarget(spec, { docker, signal, onProgress });
    await using handle = await prepared.startGuest({ signal, onProgress });
    const line = handle.serialLine;
    if (!line) throw new Error('the wine-vm guest handle has no serial line to pump through');
    onProgress({ kind: 'step', scope: 'bench', message: 'agent put/get on wine-vm' });
    const agentRows = await transferRows('serial', 'wine-vm', handle.agent, 'C:\\retrolab-bench.bin', { signal, runs });
    const count = runs ?? PUMP_RUNS;
    const pingMs = new Samples();
    const putPerIrq = new Samples();
    for (let i = 0; i < count; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `agent put's serial interrupts ${i + 1}/${count}` });
      putPerIrq.add(await putBytesPerIrq(handle, 'C:\\retrolab-bench.bin', signal));
      for (let j = 0; j < PINGS_PER_RUN; j++) pingMs.add((await handle.agent.ping(Buffer.alloc(0), { signal })).roundTripMs);
    }
    await handle.agent.putFile(`Z:${PUMP_SCRIPT_GUEST.replaceAll('/', '\\')}`, Buffer.from(PUMP_SCRIPT), { signal });
    const tx = new Samples();
    const rx = new Samples();
    const txGuest = new Samples();
    const rxGuest = new Samples();
    const rxPerIrq = new Samples();
    for (let i = 0; i < count; i++) {
      onProgress({ kind: 'step', scope: 'bench', message: `raw COM1 pump ${i + 1}/${count} (${PUMP_BYTES / 1024} KiB each way)` });
      const out = await rawTx(handle, line, signal);
      tx.add(out.kibs);
      txGuest.add(out.guestKibs);
      await handle.agent.ping(Buffer.alloc(0), { signal });
      const back = await rawRx(handle, line, signal);
      rx.add(back.kibs);
      rxGuest.add(back.guestKibs);
      rxPerIrq.add(PUMP_BYTES / back.irqs);
      await handle.agent.ping(Buffer.alloc(0), { signal });
    }
    const [put, get] = agentRows as [(typeof agentRows)[0], (typeof agentRows)[0]];
    const share = (agent: number, raw: number) => {
      const s = new Samples();
      s.add((100 * agent) / raw);
      return s;
    };
    const kib = `${PUMP_BYTES / 1024} KiB`;
    return [
      ...agentRows,
      row('serial', 'wine-vm', `raw COM1 host to guest (dd reads ttyS0, ${kib}; host clock)`, 'KiB/s', rx),
      row('serial', 'wine-vm', `raw COM1 guest to host (dd writes ttyS0, ${kib}; host clock)`, 'KiB/s', tx),
      row('serial', 'wine-vm', 'raw COM1 host to guest, guest clock (dd alone)', 'KiB/s', rxGuest),
      row('serial', 'wine-vm', 'raw COM1 guest to host, guest clock (dd alone)', 'KiB/s', txGuest),
      row('serial', 'wine-vm', 'bytes per serial interrupt, raw host to guest (dd reads ttyS0)', 'B', rxPerIrq),
      row('serial', 'wine-vm', 'bytes per serial interrupt, agent put (Wine reads COM1)', 'B', putPerIrq),
      row('serial', 'wine-vm', 'agent empty PING round trip (the cost of each stop-and-wait chunk)', 'ms', pingMs),
      row('serial', 'wine-vm', 'agent put as share of raw host to guest', '%', share(put.value, rx.median), { goal: atLeast(75) }),
      row('serial', 'wine-vm', 'agent get as share of raw guest to host', '%', share(get.value, tx.median), { goal: atLeast(75) }),
    ];
  },
};
