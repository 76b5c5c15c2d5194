import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import { quoteInput } from '../util/quote-input.ts';
import { loadVmSpec } from './load-vm-spec.ts';
import { targetName, type TargetName, type VmSpec } from './vm-spec.ts';

/**
 * The targets are the folders of vms/ that hold a spec.json: adding one is
 * adding a folder, and no list in code names them. Sorted, so the lab's
 * default order and the doctor's rows are stable.
 */
export async function listTargets(options: { root?: string; signal?: AbortSignal } = {}): Promise<TargetName[]> {
  options.signal?.throwIfAborted();
  const dir = join(options.root ?? PROJECT_ROOT, 'vms');
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new ConfigError(`${dir}: cannot list the target folders (is this a retrolab checkout?)`, { cause: error, context: { dir } });
  });
  const names: TargetName[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const files = await readdir(join(dir, entry.name));
    if (!files.includes('spec.json')) continue;
    if (!targetName.safeParse(entry.name).success) {
      throw new ConfigError(`vms/${entry.name}: a target folder name must be lower-case letters, digits and dashes`, {
        context: { dir: join(dir, entry.name) },
      });
    }
    names.push(entry.name);
  }
  return names.sort();
}

/** Every target's checked spec, in listTargets() order. */
export async function loadTargetSpecs(options: { root?: string; signal?: AbortSignal } = {}): Promise<VmSpec[]> {
  const names = await listTargets(options);
  return Promise.all(names.map((name) => loadVmSpec(name, options)));
}

/** The targets that need a user's licensed image (`"licensed": true` in their spec). */
export async function listLicensedTargets(options: { root?: string; signal?: AbortSignal } = {}): Promise<TargetName[]> {
  return (await loadTargetSpecs(options)).filter((spec) => spec.licensed).map((spec) => spec.target);
}

/** Checks that `name` is one of the targets; the error lists them. */
export async function checkTargetName(
  name: string | undefined,
  options: { flag?: string; licensedOnly?: boolean; root?: string; signal?: AbortSignal } = {},
): Promise<TargetName> {
  const known = options.licensedOnly ? await listLicensedTargets(options) : await listTargets(options);
  if (name !== undefined && known.includes(name)) return name;
  const what = options.licensedOnly ? 'a licensed target' : 'a target';
  throw new ConfigError(
    `${options.flag ?? '--target'}: ${quoteInput(name ?? '')} is not ${what}; use one of ${known.join(', ')} (the folders of vms/)`,
    {
      context: { value: name, known },
    },
  );
}
