import { loadExpectations } from '../config/expectations.ts';
import { loadVmSpec } from '../config/load-vm-spec.ts';
import type { TargetName } from '../config/vm-spec.ts';
import { ConfigError } from '../errors.ts';
import { loadRetrolabConfig } from '../licensed/licensed-config.ts';

/**
 * Reads every file a run of `targets` depends on — retrolab.config.json, each
 * target's spec.json and expectations.json — before the engine is contacted,
 * so a typo is one exit 2 with every `path: message` at once rather than an
 * infra-error per scenario after a boot.
 */
export async function checkRunConfig(targets: readonly TargetName[], options: { root?: string; signal?: AbortSignal } = {}): Promise<void> {
  const problems: string[] = [];
  const collect = async (read: () => Promise<unknown>): Promise<void> => {
    try {
      await read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.message.split('\n'));
    }
  };
  await collect(() => loadRetrolabConfig(options));
  for (const target of targets) {
    await collect(() => loadVmSpec(target, options));
    await collect(() => loadExpectations(target, options));
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)].join('\n'), { context: { problems } });
}
