import { describe, expect, it } from 'vitest';
import { SILENCE_S, heartbeatMs, silenceSeconds } from '../../src/docker/engine-reaper.ts';
import { ConfigError } from '../../src/errors.ts';

describe('the reaper container’s silence allowance', () => {
  it('30 s by default, RETROLAB_REAPER_SILENCE_S otherwise; the heartbeat comes at least three times within it', () => {
    expect(silenceSeconds({})).toBe(SILENCE_S);
    expect(silenceSeconds({ RETROLAB_REAPER_SILENCE_S: '3' })).toBe(3);
    expect(heartbeatMs(SILENCE_S)).toBe(5_000);
    expect(heartbeatMs(3)).toBe(1_000);
  });

  it.each(['0', '2', '1.5', 'soon', '3601'])('refuses RETROLAB_REAPER_SILENCE_S=%s, naming the variable', (value) => {
    expect(() => silenceSeconds({ RETROLAB_REAPER_SILENCE_S: value })).toThrow(ConfigError);
    expect(() => silenceSeconds({ RETROLAB_REAPER_SILENCE_S: value })).toThrow(
      new RegExp(`^RETROLAB_REAPER_SILENCE_S: "${value.replace('.', '\\.')}" is not a whole number of seconds from 3 to 3600`),
    );
  });
});
