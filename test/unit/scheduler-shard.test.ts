import { describe, expect, it } from 'vitest';
import { parseShard, selectShard } from '../../src/scheduler/shard.ts';

const matrix = ['wine', 'wine-vm', 'win95'].flatMap((t) =>
  ['dup-close', 'leak-control', 'close-order', 'leak-after-exit'].map((s) => `${t}/${s}`),
);
const key = (k: string) => k;

describe('--shard', () => {
  it('parses i/n and refuses what is not', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3']) expect(() => parseShard(bad)).toThrow(/--shard: .* is not i\/n/);
  });

  it('every item is in exactly one shard, and shards differ in size by at most one', () => {
    for (const n of [1, 2, 3, 5, 12, 13]) {
      const parts = Array.from({ length: n }, (_, i) => selectShard(matrix, key, { index: i + 1, count: n }));
      expect(parts.flat().sort()).toEqual([...matrix].sort());
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('the split does not depend on the order the items were listed in', () => {
    const reversed = [...matrix].reverse();
    for (const index of [1, 2, 3]) {
      expect(selectShard(reversed, key, { index, count: 3 }).sort()).toEqual(selectShard(matrix, key, { index, count: 3 }).sort());
    }
  });

  it('keeps the items in their given order within a shard', () => {
    const part = selectShard(matrix, key, { index: 1, count: 2 });
    expect(part).toEqual(matrix.filter((m) => part.includes(m)));
  });
});
