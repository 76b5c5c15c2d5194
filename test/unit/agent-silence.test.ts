import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.ts';
import { sleep } from '../../src/util/abortable.ts';
import { bannerFrame, okFrame, scriptedAgent } from '../support/scripted-agent.ts';

// What the silence budget is measured on: only a prompt request left
// unanswered with a quiet line counts; a running EXEC does not.
describe('AgentClient.silentWhileWaitingMs', () => {
  it('is 0 between calls and while an EXEC runs, and grows while a PING goes unanswered', async () => {
    const agent = scriptedAgent((frame) => {
      if (frame.type === 0x01) return [bannerFrame(frame.seq)];
      return frame.type !== 0x06 ? [okFrame(frame.seq, frame.payload)] : [];
    });
    await using client = await AgentClient.connect(agent.stream, { attemptTimeoutMs: 2_000, maxAttempts: 1 });
    await client.ping(Buffer.from('x'));
    expect(client.silentWhileWaitingMs).toBe(0);

    const exec = client.exec('long.exe', { timeoutMs: 60_000 }).catch(() => undefined);
    await sleep(300);
    expect(client.silentWhileWaitingMs).toBe(0);
    await client.close();
    await exec;

    const frozen = scriptedAgent((frame) => (frame.type === 0x01 ? [bannerFrame(frame.seq)] : []));
    await using second = await AgentClient.connect(frozen.stream, { attemptTimeoutMs: 5_000, maxAttempts: 1 });
    const ping = second.ping(Buffer.from('y')).catch((e: unknown) => e);
    await sleep(400);
    expect(second.silentWhileWaitingMs).toBeGreaterThanOrEqual(300);
    await second.close();
    await ping;
    expect(second.silentWhileWaitingMs).toBe(0);
  });
});
