import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * Reads a JSON file for a config-like input. `shown` names it in messages the
 * way the user knows it (`vms/win98/spec.json`); `what` says what it holds.
 */
export async function readJsonFile(file: string, options: { shown?: string; what: string; signal?: AbortSignal }): Promise<unknown> {
  const shown = options.shown ?? file;
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal: options.signal });
  } catch (error) {
    throw new ConfigError(`${shown}: cannot read ${options.what}: ${(error as Error).message}`, { cause: error, context: { file } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${shown}: not valid JSON: ${(error as Error).message}`, { cause: error, context: { file } });
  }
}

/** Every problem a schema found, one `source: path: message` line each. */
export function schemaProblems(source: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${source}: ${path.length > 0 ? `${path}: ` : ''}${issue.message}`;
  });
}

/**
 * Checks parsed JSON against a schema; every problem is reported at once, one
 * `source: path: message` line each, in one ConfigError.
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, json: unknown, source: string): z.output<S> {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const problems = schemaProblems(source, result.error);
  throw new ConfigError(problems.join('\n'), { cause: result.error, context: { file: source, problems } });
}
