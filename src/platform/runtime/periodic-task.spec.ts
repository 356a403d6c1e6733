import { PeriodicTask } from './periodic-task';

describe('PeriodicTask, a failure that repeats on every run', () => {
  async function runFor(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  it('is handed on once, not on every run, while it repeats within the window', async () => {
    const handed: Array<{ message: string; unreported: number }> = [];
    let runs = 0;
    const task = new PeriodicTask(
      async () => {
        runs += 1;
        throw new Error('The operator seed cannot be read');
      },
      1,
      (error, repeats) => handed.push({ message: (error as Error).message, unreported: repeats.unreported }),
      { repeatWindowMs: 60_000 },
    );
    task.start(0);
    await runFor(150);
    await task.stop();

    expect(runs).toBeGreaterThan(5);
    expect(handed).toEqual([{ message: 'The operator seed cannot be read', unreported: 0 }]);
  });

  it('hands on the same failure again once the window has passed, with how many runs it left out', async () => {
    const handed: number[] = [];
    let runs = 0;
    const task = new PeriodicTask(
      async () => {
        runs += 1;
        throw new Error('node down');
      },
      5,
      (_error, repeats) => handed.push(repeats.unreported),
      { repeatWindowMs: 60 },
    );
    task.start(0);
    await runFor(400);
    await task.stop();

    expect(handed.length).toBeGreaterThanOrEqual(2);
    expect(handed[0]).toBe(0);
    expect(handed.slice(1).every((unreported) => unreported > 0)).toBe(true);
    // Every run is either handed on or counted in the next one handed on.
    expect(handed.length + handed.reduce((sum, unreported) => sum + unreported, 0)).toBeLessThanOrEqual(runs);
    expect(runs - (handed.length + handed.reduce((sum, unreported) => sum + unreported, 0))).toBeLessThan(20);
  });

  it('hands on a different failure at once, and the same one again after a run that went through', async () => {
    const handed: string[] = [];
    const outcomes = ['a', 'a', 'b', 'b', 'ok', 'b', 'b'];
    let runs = 0;
    const task = new PeriodicTask(
      async () => {
        const outcome = outcomes[Math.min(runs, outcomes.length - 1)];
        runs += 1;
        if (outcome !== 'ok') throw new Error(outcome);
      },
      1,
      (error) => handed.push((error as Error).message),
      { repeatWindowMs: 60_000 },
    );
    task.start(0);
    while (runs < outcomes.length + 2) await runFor(5);
    await task.stop();

    expect(handed).toEqual(['a', 'b', 'b']);
  });

  it('tells runFailed of every failed run, the ones it does not hand on too', async () => {
    // Given a task that fails the same way on each of its first five runs, within the window,
    const handed: string[] = [];
    let failedRuns = 0;
    let runs = 0;
    let stopped: Promise<void> = Promise.resolve();
    const task = new PeriodicTask(
      async () => {
        runs += 1;
        // The fifth run ends the schedule; it still fails, and that failure is still a failed run.
        if (runs === 5) stopped = task.stop();
        throw new Error('node down');
      },
      1,
      (error) => handed.push((error as Error).message),
      { repeatWindowMs: 60_000, runFailed: () => (failedRuns += 1) },
    );
    // when it runs on its schedule,
    task.start(0);
    while (runs < 5) await runFor(5);
    await stopped;
    await runFor(20);

    // then each failed run is counted, and only the first is handed on.
    expect({ runs, failedRuns, handed }).toEqual({ runs: 5, failedRuns: 5, handed: ['node down'] });
  });

  it('does not count a runOnce failure as a failed scheduled run: its caller has it', async () => {
    let failedRuns = 0;
    const task = new PeriodicTask(
      async () => {
        throw new Error('same');
      },
      60_000,
      () => undefined,
      { runFailed: () => (failedRuns += 1) },
    );
    await expect(task.runOnce()).rejects.toThrow('same');
    expect(failedRuns).toBe(0);
  });

  it('leaves runOnce to its caller: every failure rejects it', async () => {
    const handed: unknown[] = [];
    const task = new PeriodicTask(
      async () => {
        throw new Error('same');
      },
      60_000,
      (error) => handed.push(error),
    );
    await expect(task.runOnce()).rejects.toThrow('same');
    await expect(task.runOnce()).rejects.toThrow('same');
    expect(handed).toEqual([]);
  });
});
