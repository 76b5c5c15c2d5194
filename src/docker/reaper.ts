import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ledgerDir, ownLedgerFile, processStartTime } from '../util/owner-ledger.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { DEFAULT_ENGINE_SOCKET } from './host-address.ts';

/**
 * The reaper, in the manner of testcontainers' Ryuk: a small detached process
 * started once per orchestrator process. It holds the read end of a pipe
 * whose write end only this process has; the kernel closes it however this
 * process ends (SIGKILL, OOM, a crash), and the reaper then removes every
 * container and volume labelled with this pid, kills the child processes and
 * removes the work folders in this process's ledger. It runs in its own
 * session, so the Ctrl-C that stops the orchestrator does not stop it.
 *
 * It also checks the pid every second, in case a pipe end leaked to a
 * grandchild keeps the pipe open.
 */

/**
 * The engines this process's reaper removes containers from: this machine's
 * socket, and the unix socket DOCKER_HOST names. Every other engine a run uses
 * (ssh://, tcp://, another unix socket) gets a reaper container of its own
 * (engine-reaper.ts): a process here cannot reach an engine whose connection
 * died with its owner.
 */
export function localReaperSockets(env: NodeJS.ProcessEnv = process.env): string[] {
  const sockets = [DEFAULT_ENGINE_SOCKET];
  const fromEnv = env.DOCKER_HOST;
  if (fromEnv?.startsWith('unix://') && fromEnv.slice('unix://'.length) !== DEFAULT_ENGINE_SOCKET) sockets.push(fromEnv.slice('unix://'.length));
  return sockets;
}

const MAIN = fileURLToPath(new URL('./reaper-main.ts', import.meta.url));

let started: Promise<number> | undefined;

/** Starts this process's reaper once; returns its pid. */
export function startReaper(): Promise<number> {
  started ??= spawnReaper();
  return started;
}

async function spawnReaper(): Promise<number> {
  const ledger = ownLedgerFile();
  await mkdir(ledgerDir(), { recursive: true });
  const logFile = join(ledgerDir(), `${hostname()}-${process.pid}.reaper.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      '--owner-pid',
      String(process.pid),
      '--owner-start',
      processStartTime(process.pid) ?? '',
      '--owner-host',
      hostname(),
      '--ledger',
      ledger,
      '--log',
      logFile,
    ],
    { cwd: PROJECT_ROOT, detached: true, stdio: ['pipe', log, log], env: process.env },
  );
  // Neither end may keep this process alive: the pipe is there to break.
  (child.stdin as unknown as Socket).unref();
  child.unref();
  closeSync(log);
  if (child.pid === undefined) throw new Error('the reaper process did not start');
  return child.pid;
}
