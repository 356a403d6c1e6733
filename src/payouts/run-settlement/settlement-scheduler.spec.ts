import { setTimeout as sleep } from 'node:timers/promises';
import { type ScheduledRunOutcome, SettlementScheduler } from './settlement-scheduler';

/**
 * A scheduler whose interval the test changes while it runs, as PUT /v1/admin/config/scheduler does.
 * While `elsewhereEndedAt` is set, another instance ran then, and a run asked for every so often
 * is not due before an interval after it.
 */
function scheduler(options: { intervalSeconds: number; onStart?: boolean; failReads?: boolean }) {
  const state = {
    intervalSeconds: options.intervalSeconds,
    runs: 0,
    asked: [] as Array<number | null>,
    logs: [] as string[],
    failedRuns: 0,
    failReads: options.failReads ?? false,
    elsewhereEndedAt: null as number | null,
  };
  const instance = new SettlementScheduler(
    {
      intervalSeconds: async () => {
        if (state.failReads) throw new Error('event store down');
        return state.intervalSeconds;
      },
      runSettlement: async (everyMs): Promise<ScheduledRunOutcome> => {
        state.asked.push(everyMs);
        if (everyMs !== null && state.elsewhereEndedAt !== null && Date.now() - state.elsewhereEndedAt < everyMs) {
          return { ran: false, lastRunEndedAt: new Date(state.elsewhereEndedAt) };
        }
        state.runs += 1;
        if (state.runs === 1) throw new Error('settlement_in_progress');
        return { ran: true };
      },
      log: (message) => state.logs.push(message),
      runFailed: () => {
        state.failedRuns += 1;
      },
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
    // The first run failed; the scheduler counted it, logged it and went on.
    expect(state.logs).toEqual(['scheduled settlement did not run']);
    expect(state.failedRuns).toBe(1);
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
    // Each check that could not read the schedule is a failed run: nothing due could be run.
    expect(state.failedRuns).toBe(state.logs.length);
    expect(state.logs.every((message) => message === 'the settlement schedule could not be read; checking again later')).toBe(true);
    expect(state.runs).toBe(0);
  });

  it('after a restart, runs an interval after the last run of any instance, not an interval after its own start', async () => {
    // A fleet restarted more often than the interval (a deploy every 10 minutes, runs every 20) must
    // still settle: the run is due by the shared schedule, which a restart does not move.
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const { state, instance } = scheduler({ intervalSeconds: 1 });
      state.elsewhereEndedAt = Date.now() - 600;
      instance.start();
      await jest.advanceTimersByTimeAsync(300);
      const beforeDue = state.runs;
      await jest.advanceTimersByTimeAsync(150);
      await instance.stop();

      expect(beforeDue).toBe(0);
      expect(state.runs).toBe(1);
      expect(state.asked.every((everyMs) => everyMs === 1_000)).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('always runs at start, and after that only once the last run of any instance is an interval old', async () => {
    // On a clock of the test's own: with real timers, a process starved for half a second (a loaded
    // CI machine) made the check due at 1 s run after the test had set the other instance's run.
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const { state, instance } = scheduler({ intervalSeconds: 1, onStart: true });
      instance.start();
      await jest.advanceTimersByTimeAsync(600);
      // Another instance ran just now: this one's run that falls due at 1 s is not made.
      state.elsewhereEndedAt = Date.now();
      await jest.advanceTimersByTimeAsync(800);
      const whileElsewhere = state.runs;
      // Due an interval after the other instance's run (1.6 s), not after this one's refusal (2 s).
      await jest.advanceTimersByTimeAsync(400);
      const atTwoIntervals = state.runs;
      await instance.stop();

      expect(state.asked[0]).toBeNull();
      expect(state.asked.slice(1).every((everyMs) => everyMs === 1_000)).toBe(true);
      expect(state.asked.length).toBeGreaterThan(2);
      expect(whileElsewhere).toBe(1);
      expect(atTwoIntervals).toBe(2);
      // Only the run that threw failed: checks that found the run made elsewhere did not.
      expect(state.failedRuns).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
