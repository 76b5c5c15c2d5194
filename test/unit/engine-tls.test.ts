import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineTlsFromEnv, explainTcpFailure } from '../../src/docker/engine-tls.ts';
import { ConfigError } from '../../src/errors.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engine-tls-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TLS to a tcp:// engine, from the environment as the docker CLI reads it', () => {
  it('plain TCP unless DOCKER_TLS_VERIFY or DOCKER_TLS is set; DOCKER_CERT_PATH alone does not turn TLS on', async () => {
    expect(await engineTlsFromEnv({ DOCKER_CERT_PATH: dir })).toBeUndefined();
    await writeFile(join(dir, 'ca.pem'), 'ca');
    expect(await engineTlsFromEnv({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir })).toMatchObject({
      verify: true,
      ca: Buffer.from('ca'),
    });
    expect(await engineTlsFromEnv({ DOCKER_TLS: '1', DOCKER_CERT_PATH: dir })).toMatchObject({ verify: false });
  });

  it('names DOCKER_CERT_PATH when it is no folder, or holds half a client certificate', async () => {
    const missing = join(dir, 'nope');
    await expect(engineTlsFromEnv({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: missing })).rejects.toThrow(
      new RegExp(`DOCKER_CERT_PATH: "${missing.replace(/[/.]/g, '\\$&')}" is not a folder`),
    );
    await writeFile(join(dir, 'cert.pem'), 'cert');
    const error = await engineTlsFromEnv({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/key\.pem is missing while cert\.pem is there/);
  });

  it('says which side of TLS is wrong and the variable that fixes it', () => {
    // What a TLS engine answers to plain HTTP (Go's server), and what a plain engine does to a TLS hello.
    const toTls = new Error('(HTTP code 400) unexpected - Client sent an HTTP request to an HTTPS server.');
    expect(explainTcpFailure('tcp://h:2376', undefined, toTls).message).toMatch(
      /speaks TLS, and DOCKER_TLS_VERIFY is not set[^]*fix: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/,
    );
    const tls = { verify: true, certPath: '/c', certPathSource: 'DOCKER_CERT_PATH=/c', ca: Buffer.from('x') };
    const plain = Object.assign(new Error('write EPROTO 0020:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), {
      code: 'EPROTO',
    });
    expect(explainTcpFailure('tcp://h:2375', tls, plain).message).toMatch(/does not speak TLS on that port[^]*unset DOCKER_TLS_VERIFY/);
    const stranger = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(explainTcpFailure('tcp://h:2376', tls, stranger).message).toMatch(/not signed by \/c\/ca\.pem[^]*DOCKER_CERT_PATH=\/c/);
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:2376'), { code: 'ECONNREFUSED' });
    expect(explainTcpFailure('tcp://h:2376', tls, refused).message).toMatch(/no Docker engine answers there \(ECONNREFUSED\)/);
  });
});
