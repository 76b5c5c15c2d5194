import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { cleanLedger, processAlive } from '../util/owner-ledger.ts';
import Docker from 'dockerode';
import { LABEL, PRODUCT } from './labels.ts';
import { localReaperSockets } from './reaper.ts';

/**
 * The reaper process (started by reaper.ts). Waits for its owner to die,
 * then removes what the owner left: containers and volumes labelled with the
 * owner's pid on this host, and the processes and paths still open in its
 * ledger. Writes one line per action to its log, next to the ledger.
 */

const { values } = parseArgs({
  options: {
    'owner-pid': { type: 'string' },
    'owner-start': { type: 'string' },
    'owner-host': { type: 'string' },
    ledger: { type: 'string' },
    log: { type: 'string' },
    // For tests: how long an engine that does not answer is asked again, and each call's deadline.
    'engine-patience-ms': { type: 'string' },
    'call-ms': { type: 'string' },
  },
});
const owner = Number(values['owner-pid']);
const ownerStart = values['owner-start'] || undefined;
const ownerHost = values['owner-host'] ?? hostname();
const ledger = values.ledger ?? '';
// This machine's socket and DOCKER_HOST's unix socket (inherited from the owner); other engines have reaper containers.
const engines = localReaperSockets().filter((socket) => existsSync(socket));

let removed = 0;
const log = (message: string, removal = false) => {
  if (removal) removed++;
  process.stdout.write(`${new Date().toISOString()} reaper ${process.pid} for ${owner}: ${message}\n`);
};

let reaping = false;
let failures = 0;
const ENGINE_PATIENCE_MS = Number(values['engine-patience-ms'] ?? 20_000);
/**
 * Each engine call's deadline. An engine that is shutting down or frozen can accept a connection and never
 * answer; without one the reaper waited on its listing forever and never got to the owner's work folders
 * and processes.
 */
const CALL_MS = Number(values['call-ms'] ?? 5_000);
const deadline = () => AbortSignal.timeout(CALL_MS);

/** Removes the owner's containers and volumes on one engine; throws when the engine does not answer the listing. */
async function removeLabelled(socketPath: string, labels: string[]): Promise<void> {
  const docker = new Docker({ socketPath });
  for (const c of await docker.listContainers({ all: true, filters: { label: labels }, abortSignal: deadline() })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true, abortSignal: deadline() })
      .then(() => log(`removed container ${c.Id.slice(0, 12)} (${c.Image})`, true))
      .catch((error: unknown) => {
        failures++;
        log(`container ${c.Id.slice(0, 12)}: ${String(error)}`);
      });
  }
  const { Volumes } = await docker.listVolumes({ filters: { label: labels }, abortSignal: deadline() });
  for (const v of Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove({ force: true, abortSignal: deadline() })
      .then(() => log(`removed volume ${v.Name}`, true))
      .catch((error: unknown) => {
        failures++;
        log(`volume ${v.Name}: ${String(error)}`);
      });
  }
}

async function reap(why: string): Promise<void> {
  if (reaping) return;
  reaping = true;
  // The pipe also closes when the owner exits normally, a moment before its pid is gone.
  for (let i = 0; i < 50 && processAlive(owner, ownerStart); i++) await new Promise((r) => setTimeout(r, 100));
  if (processAlive(owner, ownerStart)) {
    log(`${why}, but the owner still runs; watching its pid`);
    reaping = false;
    return;
  }
  log(`${why}: reaping`);
  // The host's part first: it needs no engine, so a silent engine cannot keep the owner's processes and folders.
  if (ledger) {
    const cleaned = await cleanLedger(ledger);
    for (const p of cleaned.processes) log(`killed process ${p.pid}`, true);
    for (const path of cleaned.paths) log(`removed ${path}`, true);
  }
  const labels = [`${LABEL.product}=${PRODUCT}`, `${LABEL.ownerPid}=${owner}`, `${LABEL.ownerHost}=${ownerHost}`];
  // An engine that is restarting (or was restarted under the owner) answers again within seconds; the goal is
  // nothing left 30 s after the owner died, so keep asking for ENGINE_PATIENCE_MS before leaving it to the next sweep.
  const giveUpAt = Date.now() + ENGINE_PATIENCE_MS;
  await Promise.all(
    engines.map(async (engine) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await removeLabelled(engine, labels);
          break;
        } catch (error) {
          failures++;
          if (Date.now() >= giveUpAt) {
            log(`the engine did not answer after ${attempt} attempt(s) at ${engine} (${String(error)}); the next command's sweep removes the containers`);
            break;
          }
          log(`the engine did not answer at ${engine} (${String(error)}); asking again in 1 s`);
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    }),
  );
  log('done');
  // An owner that ended cleanly leaves no log to read; a log that records a failure stays.
  if (removed === 0 && failures === 0 && values.log) await unlink(values.log).catch(() => undefined);
  process.exit(0);
}

process.stdin.on('end', () => void reap('the owner closed its pipe'));
process.stdin.on('error', () => void reap('the owner pipe failed'));
process.stdin.resume();
setInterval(() => {
  if (!processAlive(owner, ownerStart)) void reap('the owner pid is gone');
}, 1_000);
