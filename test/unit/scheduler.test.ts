import { describe, expect, it } from 'vitest';
import { schedule, type SchedulerEvent, type SchedulerHost } from '../../src/scheduler/work-scheduler.ts';

/** A fake host: runs an item by waiting a little; can be made to drop. */
interface FakeHost {
  up: boolean;
  ran: string[];
  concurrent: number;
  peak: number;
}
const fake = (): FakeHost => ({ up: true, ran: [], concurrent: 0, peak: 0 });
const host = (name: string, slots: number, handle = fake()): SchedulerHost<FakeHost> => ({ name, slots, handle });
const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

function runOn(
  options: {
    failIf?: (item: string, host: SchedulerHost<FakeHost>) => boolean;
    onStart?: (item: string, host: SchedulerHost<FakeHost>) => void;
  } = {},
) {
  return async (item: string, h: SchedulerHost<FakeHost>) => {
    h.handle.concurrent += 1;
    h.handle.peak = Math.max(h.handle.peak, h.handle.concurrent);
    options.onStart?.(item, h);
    try {
      await tick();
      if (!h.handle.up || options.failIf?.(item, h)) throw new Error(`${item} broke on ${h.name}`);
      h.handle.ran.push(item);
      return `ok ${item}`;
    } finally {
      h.handle.concurrent -= 1;
    }
  };
}

const common = {
  keyOf: (item: string) => item,
  failed: (item: string, error: unknown) => `infra ${item}: ${(error as Error).message}`,
  alive: (h: SchedulerHost<FakeHost>) => Promise.resolve(h.handle.up),
  lost: (item: string, hosts: string[], reason: string) => `lost ${item} on ${hosts.join('+')}: ${reason}`,
};

const items = (n: number) => Array.from({ length: n }, (_, i) => `item${i}`);

describe('scheduler', () => {
  it('fills every slot and never more; results come back in item order with their host', async () => {
    const a = host('a', 2);
    const b = host('b', 1);
    const results = await schedule({ ...common, items: items(9), hosts: [a, b], run: runOn() });
    expect(results.map((r) => r.result)).toEqual(items(9).map((i) => `ok ${i}`));
    expect(a.handle.peak).toBe(2);
    expect(b.handle.peak).toBe(1);
    expect(a.handle.ran.length + b.handle.ran.length).toBe(9);
    expect(a.handle.ran.length).toBeGreaterThan(b.handle.ran.length);
    for (const r of results) expect(a.handle.ran.includes(r.result.slice(3)) ? 'a' : 'b').toBe(r.host);
  });

  it('one slot runs the items one at a time, in order', async () => {
    const a = host('a', 1);
    await schedule({ ...common, items: items(4), hosts: [a], run: runOn() });
    expect(a.handle.ran).toEqual(items(4));
    expect(a.handle.peak).toBe(1);
  });

  it('an item that fails on a host that still answers is its own infra result, not re-queued', async () => {
    const a = host('a', 1);
    const b = host('b', 1);
    const events: SchedulerEvent[] = [];
    const results = await schedule({
      ...common,
      items: items(4),
      hosts: [a, b],
      run: runOn({ failIf: (i) => i === 'item2' }),
      onEvent: (e) => events.push(e),
    });
    expect(results[2]).toMatchObject({ result: 'infra item2: item2 broke on ' + results[2]!.host });
    expect(events.filter((e) => e.kind === 'requeued')).toEqual([]);
  });

  it('a host that drops: its running items go once to another host, and it gets no more work', async () => {
    const a = host('a', 2);
    const b = host('b', 2);
    const events: SchedulerEvent[] = [];
    let started = 0;
    const results = await schedule({
      ...common,
      items: items(8),
      hosts: [a, b],
      run: runOn({
        onStart: () => {
          started += 1;
          if (started === 3) a.handle.up = false; // a dies while it runs two items
        },
      }),
      onEvent: (e) => events.push(e),
    });
    expect(results.every((r) => r.result.startsWith('ok '))).toBe(true);
    expect(results.every((r) => r.host === 'b')).toBe(true);
    expect(events.filter((e) => e.kind === 'host-lost')).toEqual([{ kind: 'host-lost', host: 'a', reason: 'a stopped answering' }]);
    const requeued = events.filter((e) => e.kind === 'requeued');
    expect(requeued.length).toBe(2);
    const afterLoss = events.slice(events.findIndex((e) => e.kind === 'host-lost'));
    expect(afterLoss.some((e) => e.kind === 'start' && e.host === 'a')).toBe(false);
  });

  it('an item lost twice is an infra result naming both hosts', async () => {
    const a = host('a', 1);
    const b = host('b', 1);
    const c = host('c', 1);
    const results = await schedule({
      ...common,
      items: ['doomed'],
      hosts: [a, b, c],
      run: runOn({
        onStart: (_item, h) => {
          h.handle.up = false;
        },
      }),
    });
    expect(results[0]!.result).toMatch(/^lost doomed on a\+b: lost twice \(on a, then b\); it saw: doomed broke on b$/);
    expect(results[0]!.host).toBeUndefined();
    expect(c.handle.ran).toEqual([]);
  });

  it('when the only host drops, the queued items are lost naming it', async () => {
    const a = host('a', 1);
    const results = await schedule({ ...common, items: items(3), hosts: [a], run: runOn({ onStart: () => (a.handle.up = false) }) });
    expect(results[0]!.result).toBe('lost item0 on a: a dropped and no other host is left; it saw: item0 broke on a');
    expect(results[1]!.result).toMatch(/^lost item1 on : every host dropped \(a\)$/);
  });

  it("a group's first item runs alone before the rest of the group start", async () => {
    const a = host('a', 4);
    const order: string[] = [];
    await schedule({
      ...common,
      items: ['x1', 'x2', 'x3', 'y1', 'y2'],
      hosts: [a],
      groupOf: (i) => i[0]!,
      run: async (item, h) => {
        order.push(`start ${item} (${h.handle.concurrent} running)`);
        h.handle.concurrent += 1;
        await tick(item.endsWith('1') ? 20 : 5);
        h.handle.concurrent -= 1;
        order.push(`end ${item}`);
        return item;
      },
    });
    expect(order.slice(0, 2)).toEqual(['start x1 (0 running)', 'start y1 (1 running)']);
    expect(order.indexOf('start x2 (1 running)')).toBeGreaterThan(order.indexOf('end x1'));
    expect(order.indexOf('start y2')).toBe(-1);
    expect(order.findIndex((l) => l.startsWith('start y2'))).toBeGreaterThan(order.indexOf('end y1'));
  });

  it('an abort stops the run and waits for what is running', async () => {
    const a = host('a', 2);
    const controller = new AbortController();
    const running = schedule({
      ...common,
      items: items(6),
      hosts: [a],
      run: runOn({ onStart: () => controller.abort(new Error('interrupted')) }),
      signal: controller.signal,
    });
    await expect(running).rejects.toThrow('interrupted');
    expect(a.handle.concurrent).toBe(0);
  });
});
