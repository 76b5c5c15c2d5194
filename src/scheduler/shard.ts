import { ConfigError } from '../errors.ts';

/** `--shard i/n`: this run takes the i-th of n parts of the work (1-based). */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string, where = '--shard'): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || count > 1000 || index < 1 || index > count) {
    throw new ConfigError(
      `${where}: ${JSON.stringify(text)} is not i/n with 1 <= i <= n (e.g. 1/4; in GitHub Actions \${{ matrix.shard }}/4, in GitLab $CI_NODE_INDEX/$CI_NODE_TOTAL)`,
    );
  }
  return { index, count };
}

/**
 * The items of one shard. Items are ranked by key (so neither the order of
 * the flags nor the machine changes the split) and dealt out in turn, which
 * gives every shard the same number of items, give or take one. Every item
 * lands in exactly one shard of the same n.
 */
export function selectShard<I>(items: readonly I[], keyOf: (item: I) => string, shard: Shard): I[] {
  const keys = items.map(keyOf);
  if (new Set(keys).size !== keys.length) throw new Error('selectShard: item keys must be unique');
  const ranked = [...keys].sort();
  const rank = new Map(ranked.map((key, position) => [key, position]));
  return items.filter((item) => rank.get(keyOf(item))! % shard.count === shard.index - 1);
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
