import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

/**
 * Starts a stand-in orchestrator (a script under test/support) and resolves
 * with the first JSON line it prints: what it made (its pid, containers,
 * folders), for a test to kill it and look for what is left. Rejects if it
 * exits before printing one.
 */
export function startOwnerProcess<T>(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/support', script), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<T>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as T);
    });
    child.once('exit', (code) => reject(new Error(`the owner (${script}) exited early with ${code}: ${out}`)));
  });
}
