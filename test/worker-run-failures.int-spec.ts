import { setTimeout as sleep } from 'node:timers/promises';
import { PayoutExecutor, type PayoutSender } from '../src/payouts/executor/payout-executor';
import { Metrics } from '../src/platform/metrics/metrics';
import { useDatabaseWithPool } from './support/test-database';

/**
 * A worker whose run fails the same way every time logs it once a minute (PeriodicTask), so an
 * operator's alert counts failed runs in ledger_worker_run_failures_total instead: every one of them.
 */
describe('failed worker runs', () => {
  const suite = useDatabaseWithPool();

  it('counts each failed run of the payout executor, though only the first is logged within the window', async () => {
    // Given a payout executor on a 1 ms interval whose every run fails the same way (its seed
    // cannot be read), and which stops itself on its fifth run,
    const metrics = new Metrics();
    const logged: string[] = [];
    let prepared = 0;
    let stopped: Promise<void> = Promise.resolve();
    const sender: PayoutSender = {
      mode: 'live',
      looksAt: ['live'],
      sendsAtOnceMax: 1,
      prepare: async () => {
        prepared += 1;
        if (prepared === 5) stopped = executor.stop();
        throw new Error('The operator seed file (BANANO_OPERATOR_SEED_FILE) cannot be read (EACCES)');
      },
      send: async () => 'skipped',
    };
    const executor = new PayoutExecutor(
      suite.pool,
      sender,
      1,
      (message) => logged.push(message),
      () => metrics.workerRunFailed('payout-executor'),
    );

    // when it runs on its schedule,
    executor.start();
    while (prepared < 5) await sleep(10);
    await stopped;
    const scraped = await metrics.scrape();

    // then every failed run is counted, and one log line stands for them.
    expect(prepared).toBe(5);
    expect(scraped).toContain('ledger_worker_run_failures_total{worker="payout-executor"} 5');
    expect(logged).toEqual(['payout executor run failed']);
  });
});
