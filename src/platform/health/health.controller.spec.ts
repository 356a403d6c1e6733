import { type FastifyReply } from 'fastify';
import { createLogger } from '../logging/logger';
import { type CheckResult, HealthController, type ReadinessCheck } from './health.controller';

/** A check that counts its runs and answers each only when told. */
function heldCheck(): ReadinessCheck & { readonly started: () => number; answer(result: CheckResult): void } {
  let started = 0;
  const pending: Array<(result: CheckResult) => void> = [];
  return {
    name: 'database',
    check: () => {
      started += 1;
      return new Promise<CheckResult>((resolve) => pending.push(resolve));
    },
    started: () => started,
    answer: (result) => pending.splice(0).forEach((resolve) => resolve(result)),
  };
}

function reply(): FastifyReply & { readonly statusCode: number } {
  const fake = { statusCode: 0, status: (code: number) => Object.assign(fake, { statusCode: code }) };
  return fake as unknown as FastifyReply & { readonly statusCode: number };
}

/**
 * /ready is public, and its checks query the database, the event store and the Banano node.
 * However many requests arrive at once, or however long a check hangs, each check runs once at a
 * time: the requests that come while it runs take its answer.
 */
describe('GET /ready', () => {
  afterEach(() => jest.useRealTimers());

  it('runs a check once for the requests that arrive while it runs, and afresh after', async () => {
    const check = heldCheck();
    const health = new HealthController([check], createLogger('silent'));

    const replies = Array.from({ length: 20 }, () => reply());
    const answers = replies.map((each) => health.ready(each));
    await new Promise((resolve) => setImmediate(resolve));
    check.answer({ ok: true });

    expect(await Promise.all(answers)).toEqual(replies.map(() => ({ status: 'ready', checks: { database: { ok: true } } })));
    expect(replies.map((each) => each.statusCode)).toEqual(replies.map(() => 200));
    expect(check.started()).toBe(1);
    const next = health.ready(reply());
    await new Promise((resolve) => setImmediate(resolve));
    check.answer({ ok: false });
    expect(await next).toEqual({ status: 'not_ready', checks: { database: { ok: false } } });
    expect(check.started()).toBe(2);
  });

  it('starts no second run of a check while one that timed out still runs', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const check = heldCheck();
    const health = new HealthController([check], createLogger('silent'));

    for (let request = 0; request < 3; request += 1) {
      const answered = health.ready(reply());
      await new Promise((resolve) => setImmediate(resolve));
      await jest.advanceTimersByTimeAsync(2_000);
      expect(await answered).toEqual({ status: 'not_ready', checks: { database: { ok: false, detail: { reason: 'check_timed_out', timeoutMs: 2_000 } } } });
    }

    expect(check.started()).toBe(1);
    // A run stuck for good is left to itself after 30 s, and the next request runs the check afresh.
    await jest.advanceTimersByTimeAsync(30_000 - 3 * 2_000);
    const fresh = health.ready(reply());
    await new Promise((resolve) => setImmediate(resolve));
    check.answer({ ok: true });
    expect(await fresh).toEqual({ status: 'ready', checks: { database: { ok: true } } });
    expect(check.started()).toBe(2);
  });
});
