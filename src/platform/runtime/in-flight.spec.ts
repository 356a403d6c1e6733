import { setImmediate as nextTurn } from 'node:timers/promises';
import { forEachInFlight } from './in-flight';

describe('forEachInFlight', () => {
  it('runs every item once, never more than inFlightMax at once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachInFlight(Array.from({ length: 20 }, (_, n) => n), 3, async (item, index) => {
      expect(index).toBe(item);
      running += 1;
      most = Math.max(most, running);
      await nextTurn();
      seen.push(item);
      running -= 1;
    });
    expect(most).toBe(3);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it('with one at a time, starts each item after the previous ended, in order', async () => {
    const events: string[] = [];
    await forEachInFlight(['a', 'b', 'c'], 1, async (item) => {
      events.push(`start ${item}`);
      await nextTurn();
      events.push(`end ${item}`);
    });
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('starts nothing after the first failure, waits for the work in flight, then throws that failure', async () => {
    const started: number[] = [];
    const ended: number[] = [];
    const run = forEachInFlight(Array.from({ length: 10 }, (_, n) => n), 2, async (item) => {
      started.push(item);
      await nextTurn();
      if (item === 2) throw new Error('item 2 failed');
      if (item === 3) await nextTurn();
      ended.push(item);
    });
    await expect(run).rejects.toThrow('item 2 failed');
    expect(started).toEqual([0, 1, 2, 3]);
    expect(ended).toEqual([0, 1, 3]);
  });

  it('starts nothing once stopped() answers true', async () => {
    const started: number[] = [];
    await forEachInFlight(Array.from({ length: 10 }, (_, n) => n), 1, async (item) => {
      started.push(item);
    }, { stopped: () => started.length >= 4 });
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it('refuses an inFlightMax that is not a positive integer', async () => {
    await expect(forEachInFlight([1], 0, async () => undefined)).rejects.toThrow('inFlightMax');
  });
});
