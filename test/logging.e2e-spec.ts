import { setImmediate as tick } from 'node:timers/promises';
import { createLogger, withCorrelationId } from '../src/platform/logging/logger';
import { captured } from './support/captured-log';
import { call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

/** Structured logs carry the correlation id the events of the same request carry (issue: logs). */
describe('structured logs', () => {
  it('puts the correlation id on every line written inside its work, however deep, and on no line outside it', async () => {
    const log = captured();
    const logger = createLogger('info', { destination: log.stream });

    logger.info('before');
    await withCorrelationId('outer-1', async () => {
      await tick();
      logger.info('inside');
      await Promise.all([withCorrelationId('inner-2', async () => logger.info('nested')), (async () => logger.info('beside'))()]);
    });
    logger.info('after');

    expect(log.lines().map((line) => [line.msg, line.correlationId])).toEqual([
      ['before', undefined],
      ['inside', 'outer-1'],
      ['nested', 'inner-2'],
      ['beside', 'outer-1'],
      ['after', undefined],
    ]);
  });

  describe('of the service', () => {
    let app: TestApp;
    const log = captured();

    beforeAll(async () => {
      app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', LOG_LEVEL: 'debug' }, { logDestination: log.stream });
    });

    afterAll(async () => {
      await app.close();
    });

    it("carry the request's id, which is also the correlation id of the events it appended", async () => {
      await earner(app, 9);
      await synced(app);

      const run = await call(app, 'POST', '/v1/admin/settlements', {}, { 'x-request-id': 'log-correlation-1' });
      const [started] = await app.store.readStream(`settlement-${run.body.runId as string}`);
      const lines = log.lines().filter((line) => line.correlationId === 'log-correlation-1');

      expect(started.metadata.correlationId).toBe('log-correlation-1');
      expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['settlement run completed', 'request completed']));
      expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({ method: 'POST', route: '/v1/admin/settlements', status: 200 });
      expect(lines.find((line) => line.msg === 'settlement run completed')).toMatchObject({ runId: run.body.runId, level: 30 });
      // Every request's completion line has its own id.
      const completed = log.lines().filter((line) => line.msg === 'request completed');
      expect(completed.length).toBeGreaterThan(4);
      expect(completed.every((line) => typeof line.correlationId === 'string' && line.correlationId !== '')).toBe(true);
    });
  });
});
