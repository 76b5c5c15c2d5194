import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { LABEL } from '../../src/docker/labels.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import { ContainerError, ImageMissingError } from '../../src/docker/errors.ts';
import { derivedImageLabels } from '../../src/docker/derived-images.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

let docker: DockerClient;

beforeAll(async () => {
  docker = await connectDocker();
});

afterAll(async () => {
  await docker[Symbol.asyncDispose]();
});

async function readQmpGreeting(socketPath: string, signal: AbortSignal): Promise<string> {
  for (;;) {
    signal.throwIfAborted();
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(socketPath);
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
          if (text.includes('\n')) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.on('error', reject);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('docker layer against the real engine', () => {
  it('runs a locally built runner image and collects its output and exit code', async () => {
    const result = await docker.run({ image: RUNNER_IMAGES.qemu, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('labels what it starts with the product and the run id', async () => {
    await using container = await docker.start({ image: RUNNER_IMAGES.qemu, cmd: ['sleep', '60'] });
    const found = await docker.listContainers({ [LABEL.runId]: docker.runId });
    expect(found.map((c) => c.id)).toContain(container.id);
    expect(found.find((c) => c.id === container.id)?.labels[LABEL.product]).toBe('retrolab');
  });

  it('removes a container when the code using it throws', async () => {
    let id = '';
    await expect(
      (async () => {
        await using container = await docker.start({ image: RUNNER_IMAGES.qemu, cmd: ['sleep', '60'] });
        id = container.id;
        throw new Error('test body failed');
      })(),
    ).rejects.toThrow('test body failed');
    expect(id).not.toBe('');
    const left = await docker.listContainers({ [LABEL.runId]: docker.runId });
    expect(left.map((c) => c.id)).not.toContain(id);
  });

  it('names a missing image and the fix', async () => {
    await expect(docker.run({ image: 'retrolab/no-such-image:latest', cmd: ['true'] })).rejects.toThrow(ImageMissingError);
    await expect(docker.run({ image: 'retrolab/no-such-image:latest', cmd: ['true'] })).rejects.toThrow(/npm run setup/);
  });

  it('sweeps the leftovers of a run that was killed', async () => {
    // A separate process starts a labelled container and is killed with SIGKILL,
    // so nothing in it gets to clean up.
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/start-and-hang.ts')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [containerId, reaperPid] = await new Promise<[string, number]>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /started (\w+) reaper (\d+)/.exec(out);
        if (m?.[1] && m[2]) resolve([m[1], Number(m[2])]);
      });
      child.once('exit', (code) => reject(new Error(`helper exited early with ${code}: ${out}`)));
    });
    // The sweep is the fallback for when the reaper died too (test/integration/reaper.test.ts covers the reaper).
    process.kill(reaperPid, 'SIGKILL');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = await docker.listContainers({ [LABEL.product]: 'retrolab' });
    expect(before.map((c) => c.id)).toContain(containerId);

    const report = await docker.sweep();
    expect(report.containers).toContain(containerId);
    const after = await docker.listContainers({ [LABEL.product]: 'retrolab' });
    expect(after.map((c) => c.id)).not.toContain(containerId);
  });

  it('sweeps a derived image once its base reference points at another image or is gone, and keeps a current one', async () => {
    const nonce = randomBytes(4).toString('hex');
    const baseRef = `retrolab/test-derived-base:${nonce}`;
    const made: string[] = [];
    await using container = await docker.start({ image: RUNNER_IMAGES.qemu, cmd: ['sleep', '60'] });
    const commit = async (repo: string, tag: string, labels?: Record<string, string>) => {
      made.push(await container.commit({ repo, tag }, { labels }));
      return `${repo}:${tag}`;
    };
    try {
      await commit('retrolab/test-derived-base', nonce);
      const firstBase = (await docker.imageId(baseRef))!;
      const stale = await commit('retrolab/test-derived', `${nonce}-stale`, derivedImageLabels(baseRef, firstBase));
      // The base reference is made again (as a rebuilt wine-runner image is): it points at another image now.
      await commit('retrolab/test-derived-base', nonce);
      const secondBase = (await docker.imageId(baseRef))!;
      expect(secondBase).not.toBe(firstBase);
      const current = await commit('retrolab/test-derived', `${nonce}-current`, derivedImageLabels(baseRef, secondBase));
      const orphan = await commit('retrolab/test-derived', `${nonce}-orphan`, derivedImageLabels(`${baseRef}-gone`, secondBase));
      // The image keeps the labels it was given and none of the run's owner labels (a container of it is nobody's).
      expect(await docker.imageLabels(current)).toMatchObject({
        ...derivedImageLabels(baseRef, secondBase),
        [LABEL.product]: 'retrolab',
        [LABEL.runId]: '',
        [LABEL.ownerPid]: '',
        [LABEL.ownerHost]: '',
      });

      const report = await docker.sweep();
      expect(report.images).toEqual(expect.arrayContaining([stale, orphan]));
      expect(report.images).not.toContain(current);
      expect(await docker.imageExists(stale)).toBe(false);
      expect(await docker.imageExists(orphan)).toBe(false);
      expect(await docker.imageExists(current)).toBe(true);
      // A value a LABEL instruction would expand is refused before the engine sees it.
      await expect(container.commit({ repo: 'retrolab/test-derived', tag: nonce }, { labels: { x: '$HOME' } })).rejects.toThrow(
        ContainerError,
      );
    } finally {
      for (const ref of [baseRef, `retrolab/test-derived:${nonce}-current`, ...made]) await docker.removeImage(ref);
    }
  });

  it('runs QEMU (TCG) in a hardened container far enough to answer on QMP', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'retrolab-qmp-'));
    await chmod(runDir, 0o777);
    try {
      await using vm = await docker.start({
        image: RUNNER_IMAGES.qemu,
        hardening: 'strict',
        network: 'none',
        binds: [{ hostPath: runDir, containerPath: '/run/retrolab' }],
        cmd: [
          '/usr/libexec/qemu-system-i386',
          '-accel',
          'tcg',
          '-nodefaults',
          '-display',
          'none',
          '-m',
          '16',
          '-qmp',
          'unix:/run/retrolab/qmp.sock,server=on,wait=off',
        ],
      });
      const greeting = await readQmpGreeting(join(runDir, 'qmp.sock'), AbortSignal.timeout(30_000));
      expect(JSON.parse(greeting)).toHaveProperty('QMP.version.qemu');
      const { stdout } = await vm.exec(['sh', '-c', 'id -u; cat /proc/self/status | grep CapEff']);
      expect(stdout).toMatch(/^65534\n/);
      expect(stdout).toMatch(/CapEff:\s+0+\n/);
      await expect(vm.exec(['touch', '/usr/x'])).resolves.toMatchObject({ exitCode: 1 });
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }
  });

  it('runs Wine in a hardened container', async () => {
    const result = await docker.run({ image: RUNNER_IMAGES.wine, hardening: 'strict', user: '1000:1000', cmd: ['wine', '--version'] });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^wine-\d+\.\d+/);
  });
});
