import { startFortniteStatsDouble, type FortniteStatsDouble } from '../../../test/doubles/fortnite-stats.double';
import { LIFETIME_KILLS_MAX } from '../../identity/link-epic-account/link-epic-account.dto';
import {
  FortniteAccountNotFoundError,
  FortniteStatsClient,
  FortniteStatsError,
  FortniteStatsPrivateError,
  FortniteStatsRateLimitedError,
  FortniteStatsUnavailableError,
} from './fortnite-stats.client';

const apiKey = 'key-that-must-never-leak-5f2a';
const accountId = '4735ce9132924caf8a5b17789b40f79c';

let double: FortniteStatsDouble;
let client: FortniteStatsClient;

beforeAll(async () => {
  double = await startFortniteStatsDouble({ apiKey });
  client = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey, timeoutMs: 5_000 });
});

afterAll(async () => {
  await double.close();
});

/** Awaits the rejection, checks its class and code, and that the key appears nowhere in it. */
async function rejectionOf<T extends FortniteStatsError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  code: string,
): Promise<T> {
  const error: unknown = await promise.then(
    () => {
      throw new Error('expected a rejection, got a kill count');
    },
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(type);
  const statsError = error as T;
  expect(statsError.code).toBe(code);
  expect(`${statsError.message} ${statsError.stack ?? ''} ${JSON.stringify(statsError)}`).not.toContain(apiKey);
  return statsError;
}

describe('FortniteStatsClient', () => {
  describe('given an account with public stats', () => {
    it('answers its lifetime kills as a bigint, sending the key the API expects', async () => {
      double.setKills(accountId, 1234);

      await expect(client.getLifetimeKills(accountId)).resolves.toBe(1234n);
      expect(double.requests().at(-1)?.accountId).toBe(accountId);
    });

    it('answers zero kills as 0n, and the highest count the ledger takes (LIFETIME_KILLS_MAX) exactly', async () => {
      double.setKills('a0', 0);
      double.setKills('a1', LIFETIME_KILLS_MAX);

      await expect(client.getLifetimeKills('a0')).resolves.toBe(0n);
      await expect(client.getLifetimeKills('a1')).resolves.toBe(10_000_000n);
    });

    it('copes with a base URL written with a trailing slash', async () => {
      double.setKills(accountId, 7);
      const slashed = new FortniteStatsClient({ baseUrl: `${double.baseUrl}/`, apiKey, timeoutMs: 5_000 });

      await expect(slashed.getLifetimeKills(accountId)).resolves.toBe(7n);
    });
  });

  describe('when the account is unknown', () => {
    it('rejects with epic_account_not_found (404)', async () => {
      const error = await rejectionOf(client.getLifetimeKills('ffffffffffffffffffffffffffffffff'), FortniteAccountNotFoundError, 'epic_account_not_found');
      expect(error.epicAccountId).toBe('ffffffffffffffffffffffffffffffff');
    });
  });

  describe('when the player made their stats private', () => {
    it('rejects with stats_private (403)', async () => {
      double.setPrivate('private-player');

      await rejectionOf(client.getLifetimeKills('private-player'), FortniteStatsPrivateError, 'stats_private');
    });
  });

  describe('when the API rate-limits us (429)', () => {
    afterEach(() => double.setRetryAfter('1'));

    it('gives Retry-After in seconds as retryAfterMs', async () => {
      double.setKills(accountId, 1);
      double.setRetryAfter('7');
      double.failNext('429');

      const error = await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsRateLimitedError, 'stats_rate_limited');
      expect(error.retryAfterMs).toBe(7_000);
    });

    it('gives Retry-After as an HTTP date as the milliseconds until then', async () => {
      double.setRetryAfter(new Date(Date.now() + 30_000).toUTCString());
      double.failNext('429');

      const error = await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsRateLimitedError, 'stats_rate_limited');
      // An HTTP date has whole seconds, so up to a second is lost to rounding and some to the trip.
      expect(error.retryAfterMs).toBeGreaterThan(27_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it('gives null when there is no Retry-After', async () => {
      double.setRetryAfter(null);
      double.failNext('429');

      const error = await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsRateLimitedError, 'stats_rate_limited');
      expect(error.retryAfterMs).toBeNull();
    });
  });

  describe('when the API cannot answer', () => {
    beforeEach(() => double.setKills(accountId, 99));

    it('rejects a 500 with stats_unavailable', async () => {
      double.failNext('500');

      const error = await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      expect(error.reason).toBe('server_error');
    });

    it('rejects a dropped connection with stats_unavailable', async () => {
      double.failNext('drop');

      const error = await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      expect(error.reason).toBe('network');
    });

    it('rejects a server that does not answer within timeoutMs with stats_unavailable', async () => {
      const timeoutMs = 300;
      const impatient = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey, timeoutMs });
      double.failNext('timeout');

      const startedAtMs = performance.now();
      const error = await rejectionOf(impatient.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      const elapsedMs = performance.now() - startedAtMs;

      expect(error.reason).toBe('timeout');
      expect(elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 20);
      expect(elapsedMs).toBeLessThan(timeoutMs + 5_000);
    });

    it('rejects a server that is not listening with stats_unavailable', async () => {
      const other = await startFortniteStatsDouble({ apiKey });
      const closedBaseUrl = other.baseUrl;
      await other.close();
      const nowhere = new FortniteStatsClient({ baseUrl: closedBaseUrl, apiKey, timeoutMs: 5_000 });

      const error = await rejectionOf(nowhere.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      expect(error.reason).toBe('network');
    });

    it('works again once the failures have passed', async () => {
      double.failNext('500', 2);

      await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      await expect(client.getLifetimeKills(accountId)).resolves.toBe(99n);
    });
  });

  describe('when the answer is malformed', () => {
    it('rejects a body that is not JSON with stats_unavailable', async () => {
      double.setKills(accountId, 5);
      double.failNext('malformed');

      const error = await rejectionOf(client.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      expect(error.reason).toBe('malformed');
    });

    it.each([
      ['negative', -1],
      ['fractional', 1.5],
      ['above LIFETIME_KILLS_MAX, which the HTTP API refuses too', LIFETIME_KILLS_MAX + 1],
      ['the largest safe integer', Number.MAX_SAFE_INTEGER],
      ['beyond the safe integers', Number.MAX_SAFE_INTEGER + 2],
      ['not a number (NaN is sent as null)', Number.NaN],
    ])('rejects a kill count that is %s with stats_unavailable', async (_case, kills) => {
      double.setKills('odd-account', kills);

      const error = await rejectionOf(client.getLifetimeKills('odd-account'), FortniteStatsUnavailableError, 'stats_unavailable');
      expect(error.reason).toBe('malformed');
    });
  });

  describe('when the answer does not name the account asked about', () => {
    it.each([
      ['another account (an upstream proxy or cache mixing accounts up)', { id: 'ffffffffffffffffffffffffffffffff', name: 'someone-else' }],
      ['no account', undefined],
      ['a null account', null],
      ['an account without an id', { name: 'player' }],
      ['an account id that is not a string', { id: 4735, name: 'player' }],
      ['an empty account id', { id: '', name: 'player' }],
    ])('rejects an answer naming %s with stats_unavailable, so no count is taken', async (_case, account) => {
      double.setKills('named-account', 42);
      double.setAnsweredAccount('named-account', account);

      const error = await rejectionOf(client.getLifetimeKills('named-account'), FortniteStatsUnavailableError, 'stats_unavailable');
      expect(error.reason).toBe('malformed');
    });

    it('takes an answer naming the account in another case, as Epic ids are compared', async () => {
      // The double answers with the id as the account was made known, whatever case is asked.
      double.setKills('ABCDEF0123456789ABCDEF0123456789', 8);

      await expect(client.getLifetimeKills('abcdef0123456789abcdef0123456789')).resolves.toBe(8n);
    });
  });

  describe('when our API key is wrong or missing', () => {
    it('rejects with stats_unavailable, never naming the key', async () => {
      double.setKills(accountId, 5);
      const wrongKey = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey: 'wrong-key', timeoutMs: 5_000 });
      const noKey = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey: null, timeoutMs: 5_000 });

      const wrong = await rejectionOf(wrongKey.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');
      const missing = await rejectionOf(noKey.getLifetimeKills(accountId), FortniteStatsUnavailableError, 'stats_unavailable');

      expect(wrong.reason).toBe('unauthorized');
      expect(wrong.message).not.toContain('wrong-key');
      expect(missing.reason).toBe('unauthorized');
    });
  });
});
