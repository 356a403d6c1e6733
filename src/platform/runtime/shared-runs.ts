/**
 * One run at a time per key, whose result every caller that asks while it is under way shares: a
 * burst of callers makes one run, and against a hung dependency no caller leaves one more run
 * waiting behind it. A run older than `sharedMaxMs` is left to itself and a new one started, so a
 * run stuck for good cannot answer for good. The next call after a run ends starts afresh.
 */
export class SharedRuns<Key, Result> {
  private readonly underWay = new Map<Key, { readonly result: Promise<Result>; readonly startedAtMs: number }>();

  constructor(private readonly sharedMaxMs: number) {}

  run(key: Key, start: () => Promise<Result>): Promise<Result> {
    const run = this.underWay.get(key);
    if (run !== undefined && Date.now() - run.startedAtMs < this.sharedMaxMs) return run.result;
    // Started from a promise, so a start that throws rather than rejects is a failed run too.
    const result: Promise<Result> = Promise.resolve()
      .then(() => start())
      .finally(() => {
        if (this.underWay.get(key)?.result === result) this.underWay.delete(key);
      });
    this.underWay.set(key, { result, startedAtMs: Date.now() });
    return result;
  }
}
