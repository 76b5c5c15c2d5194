import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseWithSchema, readJsonFile } from './json-file.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { vmSpec, type FileSource, type TargetName, type VmSpec } from './vm-spec.ts';

/** Reads and checks `vms/<target>/spec.json`; every problem in the file is reported at once. */
export async function loadVmSpec(target: TargetName, options: { root?: string; signal?: AbortSignal } = {}): Promise<VmSpec> {
  const root = options.root ?? PROJECT_ROOT;
  const file = join(root, 'vms', target, 'spec.json');
  // Named as the brief and the docs name it (vms/win98/spec.json), wherever the root is.
  const shown = relative(root, file);
  const json = await readJsonFile(file, {
    shown,
    what: `the VM spec of target ${target}`,
    signal: options.signal,
  });
  const spec = parseVmSpec(json, shown);
  if (spec.target !== target) {
    throw new ConfigError(`${shown}: target: "${spec.target}" does not match its folder vms/${target}`, {
      context: { file, target: spec.target },
    });
  }
  return spec;
}

/** Checks an already-parsed spec; `source` names it in messages (`vms/win98/spec.json: nic.model: ...`). */
export function parseVmSpec(json: unknown, source: string): VmSpec {
  return parseWithSchema(vmSpec, json, source);
}

export type ResolvedFile = { ok: true; path: string } | { ok: false; reason: string; fix: string };

/**
 * Turns a spec's file source into an absolute path, or says why it cannot
 * (an unset variable is the normal state of a licensed target nobody configured).
 */
export function resolveFileSource(source: FileSource, options: { root?: string; env?: NodeJS.ProcessEnv } = {}): ResolvedFile {
  const root = options.root ?? PROJECT_ROOT;
  if ('build' in source) {
    return {
      ok: false,
      reason: `the ${source.build} guest is built by retrolab, not configured`,
      fix: `use ensureWineVmGuest() from src/images/wine-vm-disk.ts`,
    };
  }
  if ('path' in source) return { ok: true, path: isAbsolute(source.path) ? source.path : resolve(root, source.path) };
  const value = (options.env ?? process.env)[source.env];
  if (value === undefined || value.length === 0) {
    return { ok: false, reason: `${source.env} is not set`, fix: `export ${source.env}=/path/to/your/disk-image` };
  }
  return { ok: true, path: resolve(value) };
}
