import { Agent as HttpsAgent } from 'node:https';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, RetrolabError, errorMessage } from '../errors.ts';
import { tlsWanted } from './host-address.ts';

/**
 * TLS to a `tcp://` engine, set up from the environment the way the docker
 * CLI reads it: DOCKER_TLS_VERIFY (TLS, the engine's certificate checked
 * against ca.pem) or DOCKER_TLS (TLS, not checked), with ca.pem, cert.pem and
 * key.pem from DOCKER_CERT_PATH (~/.docker when unset). As the CLI does, a
 * missing cert.pem/key.pem pair means no client certificate, and a missing
 * ca.pem means the system's roots.
 */
export interface EngineTls {
  verify: boolean;
  certPath: string;
  /** Where DOCKER_CERT_PATH came from, for messages. */
  certPathSource: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`DOCKER_CERT_PATH: ${path} cannot be read (${errorMessage(error)}); make it readable by this user`, { cause: error });
  }
}

/** The TLS settings the environment asks for, or undefined for plain TCP. */
export async function engineTlsFromEnv(env: NodeJS.ProcessEnv): Promise<EngineTls | undefined> {
  if (!tlsWanted(env)) return undefined;
  const given = env.DOCKER_CERT_PATH !== undefined && env.DOCKER_CERT_PATH !== '';
  const certPath = given ? env.DOCKER_CERT_PATH! : join(homedir(), '.docker');
  const certPathSource = given ? `DOCKER_CERT_PATH=${certPath}` : `${certPath} (DOCKER_CERT_PATH is not set)`;
  const folder = await stat(certPath).catch(() => undefined);
  if (given && !folder?.isDirectory()) {
    throw new ConfigError(
      `DOCKER_CERT_PATH: ${JSON.stringify(certPath)} is not a folder; set it to the folder that holds ca.pem, cert.pem and key.pem (as the docker CLI reads them), or unset DOCKER_TLS_VERIFY for plain TCP`,
      { context: { variable: 'DOCKER_CERT_PATH', value: certPath } },
    );
  }
  const [ca, cert, key] = await Promise.all(['ca.pem', 'cert.pem', 'key.pem'].map((name) => readIfExists(join(certPath, name))));
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? 'cert.pem' : 'key.pem';
    throw new ConfigError(
      `DOCKER_CERT_PATH: ${join(certPath, missing)} is missing while ${cert === undefined ? 'key.pem' : 'cert.pem'} is there; a client certificate needs both (put ${missing} beside it, or remove both for none)`,
      { context: { variable: 'DOCKER_CERT_PATH', value: certPath } },
    );
  }
  const verify = (env.DOCKER_TLS_VERIFY ?? '') !== '';
  return { verify, certPath, certPathSource, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** An https.Agent for the engine: every API request of the run reuses its connections. */
export function engineTlsAgent(tls: EngineTls): HttpsAgent {
  return new HttpsAgent({
    keepAlive: true,
    maxFreeSockets: 4,
    rejectUnauthorized: tls.verify,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
  });
}

/** A tcp:// engine did not answer; the message says which side of TLS is wrong and which variable fixes it. */
export class TcpEngineError extends RetrolabError {
  constructor(readonly endpoint: string, message: string, readonly fix: string, cause?: unknown) {
    super(`${endpoint}: ${message}\n  fix: ${fix}`, { cause, context: { endpoint } });
  }
}

function codeOf(error: unknown): string {
  const seen = new Set<unknown>();
  let at: unknown = error;
  while (typeof at === 'object' && at !== null && !seen.has(at)) {
    seen.add(at);
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    at = (at as { cause?: unknown }).cause;
  }
  return '';
}

/** Turns a failed first request to a tcp:// engine into what to change. */
export function explainTcpFailure(endpoint: string, tls: EngineTls | undefined, error: unknown): TcpEngineError {
  const text = errorMessage(error);
  const code = codeOf(error);
  const say = (message: string, fix: string) => new TcpEngineError(endpoint, `${message} (${code || text.split('\n')[0]})`, fix, error);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT' || code === 'ENOTFOUND')
    return say('no Docker engine answers there', 'check the address and port, and that dockerd listens on it (dockerd -H tcp://0.0.0.0:2376 with --tlsverify)');
  if (!tls) {
    if (/HTTP request to an HTTPS server/i.test(text))
      return say(
        'the engine speaks TLS, and DOCKER_TLS_VERIFY is not set',
        'set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder with ca.pem, cert.pem and key.pem, as for the docker CLI',
      );
    return say('the engine did not answer plain HTTP', 'if it listens with TLS (port 2376, usually), set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH');
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(text))
    return say('the engine does not speak TLS on that port', 'unset DOCKER_TLS_VERIFY and DOCKER_TLS for a plain-TCP engine (port 2375, usually), or use its TLS port');
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return say(
      "the engine's certificate is not made out to this address",
      'use the name or address its certificate names (subjectAltName), or issue it a certificate for this one',
    );
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code))
    return say(
      `the engine's certificate is not signed by ${tls.ca ? join(tls.certPath, 'ca.pem') : "the system's roots (there is no ca.pem)"}`,
      `put the CA that signed the engine's certificate in ${join(tls.certPath, 'ca.pem')} (${tls.certPathSource})`,
    );
  if (/certificate required|bad certificate|unknown ca|alert/i.test(text))
    return say(
      tls.cert ? `the engine refused the client certificate ${join(tls.certPath, 'cert.pem')}` : 'the engine wants a client certificate, and there is none',
      `put a client certificate signed by the engine's CA in ${join(tls.certPath, 'cert.pem')} and key.pem (${tls.certPathSource})`,
    );
  return say('the engine did not answer over TLS', `check the engine's TLS setup and the files in ${tls.certPathSource}`);
}
