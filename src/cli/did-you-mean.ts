/** Edit distance (insertions, deletions, substitutions, and swaps of neighbours: `--targt`, `--tagret`). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest known names to what was typed, nearest first: within a third of
 * the word's length (at least 1, at most 3 edits); failing that, the names
 * that start with it (`--base` for `--baseline`).
 */
export function suggest(typed: string, known: readonly string[]): string[] {
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  const close = known
    .map((name) => ({ name, distance: editDistance(typed, name) }))
    .filter((candidate) => candidate.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .map((candidate) => candidate.name);
  if (close.length > 0) return close;
  return typed.replace(/^-+/, '').length >= 2 ? known.filter((name) => name.startsWith(typed)) : [];
}
