import { describe, expect, it } from 'vitest';
import { runChaos } from '../chaos/main.ts';

// The quick subset of `npm run chaos` (bad inputs through the real CLI, the
// FrameDecoder fuzz, SIGKILL of a real run mid-scenario), so CI keeps the
// guarantees the whole suite measures. Each row says what failed.
describe('chaos, quick subset', () => {
  it(
    'every quick case holds, and the user image is unchanged after each',
    async () => {
      const rows = await runChaos({ quick: true });
      expect(rows.length).toBeGreaterThanOrEqual(4);
      expect(rows.filter((row) => !row.ok).map((row) => `${row.case}: ${row.result}`)).toEqual([]);
    },
    15 * 60_000,
  );
});
