type Outcome<T> = { readonly result: IteratorResult<T> } | { readonly error: unknown };

/**
 * An async iterator read with a time limit per wait. A read that outlives a wait stays in flight,
 * and a later wait takes its result; the iterator is never asked for a second item meanwhile.
 *
 * The read in flight gets one reaction, whatever the number of waits. `Promise.race` against it
 * at every wait added a reaction each time, and each one held a few hundred bytes until the read
 * settled. A filtered subscription on a quiet store may not settle for hours, and an idle
 * projection waits four times a second, so an idle projector grew without bound.
 */
export class TimedIterator<T> {
  private reading = false;
  private outcome: Outcome<T> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly iterator: AsyncIterator<T>) {}

  /** The next result, or 'timeout' when none came within `ms`; a failed read is thrown here. */
  async next(ms: number): Promise<IteratorResult<T> | 'timeout'> {
    if (!this.reading && this.outcome === null) this.read();
    if (this.outcome === null) await this.settledOrAfter(ms);
    const outcome = this.outcome;
    if (outcome === null) return 'timeout';
    this.outcome = null;
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  private read(): void {
    this.reading = true;
    // The outcome is kept until a wait takes it, so a read that fails while nobody waits is never
    // an unhandled rejection.
    this.iterator.next().then(
      (result) => this.settle({ result }),
      (error: unknown) => this.settle({ error }),
    );
  }

  private settle(outcome: Outcome<T>): void {
    this.reading = false;
    this.outcome = outcome;
    this.wake?.();
  }

  private settledOrAfter(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
