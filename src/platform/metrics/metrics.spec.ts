import { Metrics, SCRAPE_COLLECT_TIMEOUT_MS, type ScrapeCollector } from './metrics';

/** A collector that counts its collections and finishes each only when told. */
function heldCollector(): ScrapeCollector & { readonly started: () => number; finish(): void } {
  let started = 0;
  const pending: Array<() => void> = [];
  return {
    name: 'held',
    collect: () => {
      started += 1;
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    reset: () => undefined,
    started: () => started,
    finish: () => pending.splice(0).forEach((resolve) => resolve()),
  };
}

/**
 * /metrics is public, and each scrape reads the database and the event store. However many scrapes
 * arrive at once, or however long a collection hangs, a collector runs one collection at a time:
 * the scrapes that come while it runs wait for that one.
 */
describe('Metrics.scrape', () => {
  afterEach(() => jest.useRealTimers());

  it('runs one collection for scrapes that arrive while it runs', async () => {
    const metrics = new Metrics();
    const collector = heldCollector();
    metrics.collectAtScrape(collector);

    const scrapes = Array.from({ length: 20 }, () => metrics.scrape());
    await new Promise((resolve) => setImmediate(resolve));
    collector.finish();
    const texts = await Promise.all(scrapes);

    expect(collector.started()).toBe(1);
    expect(texts.every((text) => text.includes('ledger_commands_total'))).toBe(true);
    // Once it has ended, the next scrape collects afresh.
    const next = metrics.scrape();
    await new Promise((resolve) => setImmediate(resolve));
    collector.finish();
    await next;
    expect(collector.started()).toBe(2);
  });

  it('starts no second collection while one that timed out still runs', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const metrics = new Metrics();
    const collector = heldCollector();
    metrics.collectAtScrape(collector);

    for (let scrape = 0; scrape < 3; scrape += 1) {
      const answered = metrics.scrape();
      await new Promise((resolve) => setImmediate(resolve));
      await jest.advanceTimersByTimeAsync(SCRAPE_COLLECT_TIMEOUT_MS);
      expect(await answered).toMatch(/ledger_metrics_collect_errors_total\{collector="held"\} \d/);
    }

    expect(collector.started()).toBe(1);
    // One stuck for good is left to itself after 30 s, and the next scrape collects afresh.
    await jest.advanceTimersByTimeAsync(30_000 - 3 * SCRAPE_COLLECT_TIMEOUT_MS);
    const fresh = metrics.scrape();
    await new Promise((resolve) => setImmediate(resolve));
    collector.finish();
    await fresh;
    expect(collector.started()).toBe(2);
  });
});
