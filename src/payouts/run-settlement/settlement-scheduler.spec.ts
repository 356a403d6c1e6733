import { setTimeout as sleep } from 'node:timers/promises';
import { SettlementScheduler } from './settlement-scheduler';

/** A scheduler whose interval the test changes while it runs, as PUT /v1/admin/config/scheduler does. */
function scheduler(options: { intervalSeconds: number; onStart?: boolean; failReads?: boolean }) {
  const state = { intervalSeconds: options.intervalSeconds, runs: 0, logs: [] as string[], failReads: options.failReads ?? false };
  const instance = new SettlementScheduler(
    {
      intervalSeconds: async () => {
        if (state.failReads) throw new Error('event store down');
        return state.intervalSeconds;
      },
      runSettlement: async () => {
        state.runs += 1;
        if (state.runs === 1) throw new Error('settlement_in_progress');
      },
      log: (message) => state.logs.push(message),
    },
    { onStart: options.onStart ?? false, checkIntervalMsMax: 20 },
  );
  return { state, instance };
}

describe('the settlement scheduler', () => {
  it('runs nothing while the interval is 0, starts when an admin sets one, and stops again at 0', async () => {
    const { state, instance } = scheduler({ intervalSeconds: 0 });
    instance.start();
    await sleep(150);
    const whileOff = state.runs;

    state.intervalSeconds = 1;
    await sleep(2_600);
    const whileOn = state.runs;
    state.intervalSeconds = 0;
    await sleep(100);
    const atStop = state.runs;
    await sleep(1_200);
    await instance.stop();

    expect(whileOff).toBe(0);
    expect(whileOn).toBeGreaterThanOrEqual(2);
    expect(whileOn).toBeLessThanOrEqual(3);
    expect(state.runs).toBe(atStop);
    // The first run failed; the scheduler logged it and went on.
    expect(state.logs).toEqual(['scheduled settlement did not run']);
  });

  it('runs once at start when told to, whatever the interval, and not again before the interval', async () => {
    const { state, instance } = scheduler({ intervalSeconds: 3600, onStart: true });
    instance.start();
    await sleep(200);
    await instance.stop();

    expect(state.runs).toBe(1);
  });

  it('keeps checking when the schedule cannot be read, and runs nothing after stop', async () => {
    const { state, instance } = scheduler({ intervalSeconds: 1, failReads: true });
    instance.start();
    await sleep(100);
    await instance.stop();
    const logged = state.logs.length;
    state.failReads = false;
    await sleep(1_100);

    expect(logged).toBeGreaterThanOrEqual(2);
    expect(state.logs.every((message) => message === 'the settlement schedule could not be read; checking again later')).toBe(true);
    expect(state.runs).toBe(0);
  });
});
