import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { readJsonFile, schemaProblems } from '../config/json-file.ts';
import { checkTargetName, listLicensedTargets } from '../config/target-list.ts';
import { targetName, type TargetName } from '../config/vm-spec.ts';
import { hostConfigEntry } from '../docker/host-address.ts';
import { ConfigError } from '../errors.ts';
import { PROJECT_ROOT } from '../util/paths.ts';

/**
 * Where each licensed target's disk image is: an environment variable
 * (`RETROLAB_IMAGE_WIN98`) wins over the git-ignored `retrolab.config.json`
 * at the repository root, so a one-off run can point elsewhere without
 * editing the file.
 */

/** A target whose spec says `"licensed": true` (the list comes from the vms/<target>/spec.json files: src/config/target-list.ts). */
export type LicensedTarget = TargetName;

export const CONFIG_FILE_NAME = 'retrolab.config.json';

const imagePath = z.string().min(1, 'must be a path to a disk image');

export const retrolabConfig = z.strictObject({
  /** Target → image; a key that is not a licensed target is reported when that target is looked up, never used. */
  images: z.record(targetName, imagePath).default({}),
  /** What the host accepts from a guest; the defaults hold every real run with room to spare. */
  limits: z
    .strictObject({
      maxGuestFileMiB: z
        .int('must be a whole number of MiB')
        .min(1, 'must be at least 1')
        .max(4096, 'must be at most 4096 (4 GiB)')
        .optional(),
    })
    .default({}),
  /** The Docker engines a run spreads over (README: Several machines). */
  hosts: z.array(hostConfigEntry).optional(),
});
export type RetrolabConfig = z.infer<typeof retrolabConfig>;

export function imageEnvVariable(target: LicensedTarget): string {
  return `RETROLAB_IMAGE_${target.toUpperCase()}`;
}

/** Checks a `--target` value against the licensed targets of vms/ (the error lists them). */
export async function parseLicensedTarget(
  value: string | undefined,
  options: { flag?: string; root?: string; signal?: AbortSignal } = {},
): Promise<LicensedTarget> {
  return checkTargetName(value, { ...options, licensedOnly: true });
}

/** Moves retrolab.config.json: the path of the file to read instead of the one at the repository root. */
export const CONFIG_ENV = 'RETROLAB_CONFIG';

export interface ConfigLocation {
  file: string;
  /** The folder relative paths in the file are resolved against: the file's own. */
  root: string;
  /** How messages name the file. */
  shown: string;
  /** Named by RETROLAB_CONFIG, so it must exist. */
  explicit: boolean;
}

/** Which config file a command reads: `root`'s (tests), else RETROLAB_CONFIG's, else the repository's. */
export function configLocation(options: { root?: string; env?: NodeJS.ProcessEnv } = {}): ConfigLocation {
  const named = (options.env ?? process.env)[CONFIG_ENV];
  if (options.root === undefined && named !== undefined && named.length > 0) {
    const file = resolve(named);
    return { file, root: dirname(file), shown: named, explicit: true };
  }
  const root = options.root ?? PROJECT_ROOT;
  return { file: join(root, CONFIG_FILE_NAME), root, shown: CONFIG_FILE_NAME, explicit: false };
}

/** Reads retrolab.config.json; a missing file is an empty config, a bad one lists every problem as `path: message`. */
export async function loadRetrolabConfig(
  options: { root?: string; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<RetrolabConfig> {
  const { file, shown, explicit } = configLocation(options);
  try {
    await access(file);
  } catch {
    if (explicit)
      throw new ConfigError(
        `${CONFIG_ENV}=${shown}: no such file; point it at a retrolab.config.json, or unset it to use the one at the repository root`,
        {
          context: { file },
        },
      );
    return { images: {}, limits: {} };
  }
  const json = await readJsonFile(file, { shown, what: 'it', signal: options.signal });
  const result = retrolabConfig.safeParse(json);
  const problems = result.success ? [] : schemaProblems(shown, result.error);
  if (result.success) {
    // A key that names no licensed target would be ignored without a word: a typo (win89) must not look configured.
    const licensed = await listLicensedTargets({ signal: options.signal });
    for (const key of Object.keys(result.data.images)) {
      if (!licensed.includes(key)) problems.push(`${shown}: images.${key}: not a licensed target; use one of ${licensed.join(', ')}`);
    }
    if (problems.length === 0) return result.data;
  }
  throw new ConfigError(problems.join('\n'), { cause: result.success ? undefined : result.error, context: { file, problems } });
}

/** The most `getFile` takes from a guest, from limits.maxGuestFileMiB (default: the agent client's 64 MiB). */
export async function maxGuestFileBytes(options: { root?: string; signal?: AbortSignal } = {}): Promise<number | undefined> {
  const mib = (await loadRetrolabConfig(options)).limits.maxGuestFileMiB;
  return mib === undefined ? undefined : mib * 1024 * 1024;
}

export type ConfiguredImage = { configured: true; path: string; from: string } | { configured: false; reason: string; fix: string };

/** The image configured for a target, and where that setting came from (for messages). */
export async function configuredImage(
  target: LicensedTarget,
  options: { root?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<ConfiguredImage> {
  const variable = imageEnvVariable(target);
  const fromEnv = (options.env ?? process.env)[variable];
  if (fromEnv !== undefined && fromEnv.length > 0) return { configured: true, path: resolve(fromEnv), from: variable };
  const { root, shown } = configLocation(options);
  const config = await loadRetrolabConfig({ root: options.root, env: options.env, signal: options.signal });
  const fromFile = config.images[target];
  if (fromFile !== undefined) return { configured: true, path: resolve(root, fromFile), from: `${shown} images.${target}` };
  return {
    configured: false,
    reason: `no ${target} image: ${variable} is not set and ${CONFIG_FILE_NAME} has no images.${target}`,
    fix: `retrolab image prepare --target ${target} --image /path/to/your-${target}-disk, then export ${variable}=<the prepared image it prints> (or put it in ${CONFIG_FILE_NAME} under images.${target})`,
  };
}
