import Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/docker/docker-client.ts';
import { ContainerError } from '../../src/docker/errors.ts';
import { sweepLeftovers } from '../../src/docker/sweeper.ts';
import { processStartTime } from '../../src/util/owner-ledger.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

// An engine that accepts every connection and answers only what starting a
// container needs (create, attach, start): every other request is read and
// never answered, as a dockerd in the middle of a restart can do. Cleanup
// must still end within its deadlines. Before they existed, the removal in a
// run's dispose and the reaper's listing waited on such an engine forever
// (the chaos case "dockerd restarted mid-run").

const ID = 'c0ffee0000000000000000000000000000000000000000000000000000000000';

interface SilentEngine {
  socketPath: string;
  /** `METHOD path` of every request the engine left unanswered. */
  unanswered: string[];
  close(): Promise<void>;
}

async function silentEngine(dir: string): Promise<SilentEngine> {
  const socketPath = join(dir, 'docker.sock');
  const unanswered: string[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').replace(/^\/v[\d.]+/, '');
    request.resume();
    if (request.method === 'POST' && path.startsWith('/containers/create')) {
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ Id: ID, Warnings: [] }));
    } else if (request.method === 'POST' && path.startsWith(`/containers/${ID}/attach`)) {
      // The main process's output stream: open, and quiet.
      response.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      response.flushHeaders();
      held.push(response);
    } else if (request.method === 'POST' && path.startsWith(`/containers/${ID}/start`)) {
      response.writeHead(204).end();
    } else {
      unanswered.push(`${request.method} ${path}`);
      held.push(response);
    }
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    unanswered,
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let dir: string;
let engine: SilentEngine;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cleanup-deadline-'));
  engine = await silentEngine(dir);
});

afterEach(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cleanup against an engine that stops answering', () => {
  it("a run's dispose ends within the removal deadline and says the container was not confirmed removed", async () => {
    const client = new DockerClient(new Docker({ socketPath: engine.socketPath }), `unix://${engine.socketPath}`, 'run-1', undefined, {
      cleanupMs: 300,
    });
    await client.start({ image: 'retrolab/wine-runner:test', cmd: ['true'] });
    expect(client.liveContainerCount).toBe(1);
    await client[Symbol.asyncDispose]();
    expect(engine.unanswered).toContain(`DELETE /containers/${ID}?force=true&v=true`);
    expect(client.liveContainerCount).toBe(0);
    expect(client.removedContainerCount).toBe(0);
  }, 5_000);

  it('a container removal that gets no answer fails naming the container, the deadline and who removes it instead', async () => {
    const client = new DockerClient(new Docker({ socketPath: engine.socketPath }), `unix://${engine.socketPath}`, 'run-2', undefined, {
      cleanupMs: 300,
    });
    const container = await client.start({ image: 'retrolab/wine-runner:test', cmd: ['true'] });
    const error = await container.stop().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContainerError);
    expect((error as Error).message).toBe(
      `Removing container ${ID.slice(0, 12)} (retrolab/wine-runner:test) got no answer from the engine within 0.3 s; the reaper removes it once this run ends, or the next command sweeps it`,
    );
    // Asked twice, the same answer: the removal is not sent again.
    await expect(container.stop()).rejects.toBe(error);
    expect(engine.unanswered.filter((r) => r.startsWith('DELETE'))).toHaveLength(1);
  }, 5_000);

  it('the sweep at the start of a command fails instead of waiting on the listing', async () => {
    const docker = new Docker({ socketPath: engine.socketPath });
    await expect(sweepLeftovers(docker, 'run-3', { callMs: 300 })).rejects.toThrow(/aborted|timeout/i);
    expect(engine.unanswered[0]).toMatch(/^GET \/containers\/json\?all=true&filters=/);
  }, 5_000);

  it("the reaper removes its dead owner's work folder and ends, although the engine never answers", async () => {
    const work = join(dir, 'owner-work');
    await mkdir(work);
    const owner = spawn('sleep', ['30']);
    const ownerPid = owner.pid!;
    const ledger = join(dir, 'owner.log');
    await writeFile(
      ledger,
      [
        { op: 'owner', pid: ownerPid, host: hostname(), startTime: processStartTime(ownerPid) },
        { op: '+path', path: work },
      ]
        .map((line) => `${JSON.stringify(line)}\n`)
        .join(''),
    );
    const reaper = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(PROJECT_ROOT, 'src/docker/reaper-main.ts'),
        ...['--owner-pid', String(ownerPid), '--owner-start', processStartTime(ownerPid) ?? '', '--owner-host', hostname()],
        ...['--ledger', ledger, '--engine-patience-ms', '1000', '--call-ms', '300'],
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, DOCKER_HOST: `unix://${engine.socketPath}` }, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let output = '';
    reaper.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => reaper.once('exit', resolve));
    owner.kill('SIGKILL');
    await new Promise((resolve) => owner.once('exit', resolve));
    // The owner's end of the pipe closes as the owner dies.
    reaper.stdin.end();
    expect(await exited, output).toBe(0);
    expect(
      await access(work).then(
        () => 'still there',
        () => 'removed',
      ),
    ).toBe('removed');
    expect(output).toMatch(/the engine did not answer after \d+ attempt\(s\).*the next command's sweep removes the containers/);
    expect(engine.unanswered.some((r) => r.startsWith('GET /containers/json'))).toBe(true);
  }, 15_000);
});
