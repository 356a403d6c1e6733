/**
 * Shares reads among concurrent callers without handing anyone an answer older than their call: a
 * caller that finds a read on its way does not join it (it may have started before the caller's
 * facts changed) but waits for the next one, which starts when that read ends and serves every
 * caller that queued meanwhile. Under a steady stream of callers there is one read at a time
 * instead of one per caller; a lone caller reads at once.
 */
export class FreshReads<T> {
  private inFlight: Promise<T> | null = null;
  private queued: Promise<T> | null = null;

  constructor(private readonly load: () => Promise<T>) {}

  read(): Promise<T> {
    if (this.inFlight === null) return this.begin();
    this.queued ??= this.inFlight.then(
      () => this.beginQueued(),
      () => this.beginQueued(),
    );
    return this.queued;
  }

  private beginQueued(): Promise<T> {
    this.queued = null;
    return this.begin();
  }

  private begin(): Promise<T> {
    const read = this.load().finally(() => {
      if (this.inFlight === read) this.inFlight = null;
    });
    this.inFlight = read;
    return read;
  }
}
