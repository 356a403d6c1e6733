import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { encodeCursor } from '../src/platform/http/paging';
import { formatBan } from '../src/platform/money';
import { type Answer, call, earner, type Earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

type Json = Record<string, unknown>;

const MINUTE_MS = 60_000;

/**
 * README "HTTP API" and "Leaderboard and feed": the paged routes (a user's accruals, payouts and
 * history, the admin audit) and the public dashboard lists, read while the ledger moves. A walk
 * with `nextCursor` returns each item that was there when it began exactly once, in the list's
 * order, whatever is recorded, requested or sent meanwhile; ties on the visible sort values still
 * give one order; a cursor that is not one this API returned for this list, and a bad `limit`,
 * are a 4xx problem with a stable code, never a 500 and never a page from a wrong place.
 */
describe('paging and order of the query routes', () => {
  let app: TestApp;
  /** A player with accruals a minute apart from an hour ago on, each paid by its own payout. */
  let player: Earner;
  /** The minute (counted from `start`) of `player`'s next observation, and their lifetime kill count. */
  let nextMinute = 0;
  let lifetime = 0;
  const start = Date.now() - 60 * MINUTE_MS;

  const get = async (path: string): Promise<Answer> => call(app, 'GET', path);

  /** One more accrual of `player`, in a minute later than all of theirs. */
  async function accrue(): Promise<void> {
    lifetime += 1;
    const observedAt = new Date(start + nextMinute * MINUTE_MS).toISOString();
    nextMinute += 1;
    const answer = await call(app, 'POST', `/v1/users/${player.userId}/kills`, { lifetimeKills: lifetime, observedAt });
    expect(answer.status).toBe(202);
    expect(answer.body.accrual).not.toBeNull();
  }

  /**
   * The executor sends every pending payout (a user with one is not settled again), then a
   * settlement run requests one payout for `player` of what is unpaid.
   */
  async function settle(): Promise<string> {
    await synced(app);
    expect((await app.workers.payoutExecutor.runOnce()).failed).toBe(0);
    await synced(app);
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(run.status).toBe(200);
    const payouts = run.body.payouts as Array<{ payoutId: string; userId: string }>;
    const mine = payouts.filter((payout) => payout.userId === player.userId);
    expect(mine).toHaveLength(1);
    await synced(app);
    return mine[0].payoutId;
  }

  /** Every page of `path`, `limit` at a time; `between(n)` runs after page n (from 1). */
  async function walk(path: string, limit: number, between: (page: number) => Promise<void> = async () => {}): Promise<Json[]> {
    const items: Json[] = [];
    let cursor: string | null = null;
    for (let page = 1; ; page += 1) {
      const answer = await get(`${path}?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect([path, page, answer.status]).toEqual([path, page, 200]);
      const body = answer.body as { items: Json[]; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(limit);
      items.push(...body.items);
      cursor = body.nextCursor;
      if (cursor === null) return items;
      expect(page).toBeLessThan(100);
      await between(page);
    }
  }

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    player = await earner(app, 0);
    // Seven accruals, each paid by a payout of its own: all sent but the last, which is pending.
    for (let index = 0; index < 7; index += 1) {
      await accrue();
      await settle();
    }
    await synced(app);
  });

  afterAll(async () => {
    await app.close();
  });

  describe('a walk while the ledger moves', () => {
    it('returns each payout once, newest first, while payouts are requested and sent between pages', async () => {
      const before = (await get(`/v1/users/${player.userId}/payouts?limit=100`)).body.items as Json[];
      expect(before).toHaveLength(7);
      expect(before.map((payout) => payout.status)).toEqual(['pending', 'sent', 'sent', 'sent', 'sent', 'sent', 'sent']);
      const added: string[] = [];
      const walked = await walk(`/v1/users/${player.userId}/payouts`, 2, async (page) => {
        if (page === 1 || page === 3) {
          // The pending payout is sent, and a new one requested, newer than every one the walk has seen.
          await accrue();
          added.push(await settle());
        }
        if (page === 2) {
          // The new pending payout is sent.
          expect((await app.workers.payoutExecutor.runOnce()).failed).toBe(0);
          await synced(app);
        }
      });
      const ids = walked.map((payout) => payout.payoutId);
      expect(new Set(ids).size).toBe(ids.length);
      // Exactly the payouts there when the walk began, in their order: the new ones are newer
      // than the cursor, so a walk begun before them never reaches them.
      expect(ids).toEqual(before.map((payout) => payout.payoutId));
      expect(ids.filter((id) => added.includes(id as string))).toEqual([]);
      // The first page showed the newest payout pending, as it was then.
      expect(walked[0].status).toBe('pending');
      // And a new walk sees everything, newest first.
      const after = await walk(`/v1/users/${player.userId}/payouts`, 3);
      expect(after.map((payout) => payout.payoutId)).toEqual([...added.reverse(), ...ids]);
      expect(after.map((payout) => Date.parse(payout.requestedAt as string))).toEqual(
        after.map((payout) => Date.parse(payout.requestedAt as string)).sort((x, y) => y - x),
      );
    });

    it('returns each accrual once, newest minute first, while accruals are recorded and settled between pages', async () => {
      const before = (await get(`/v1/users/${player.userId}/accruals?limit=100`)).body.items as Json[];
      const walked = await walk(`/v1/users/${player.userId}/accruals`, 2, async (page) => {
        await accrue();
        // The second page is read after one more payout claims the new accruals.
        if (page === 1) await settle();
        await synced(app);
      });
      const minutes = walked.map((accrual) => accrual.epochMinute as number);
      expect(new Set(minutes).size).toBe(minutes.length);
      expect(walked.map((accrual) => accrual.accrualId)).toEqual(before.map((accrual) => accrual.accrualId));
      expect(minutes).toEqual([...minutes].sort((x, y) => y - x));
    });

    it('returns each history event once, in stream order, the events appended meanwhile at its end', async () => {
      const before = (await get(`/v1/users/${player.userId}/history?limit=100`)).body.items as Json[];
      expect(before.length).toBeGreaterThan(10);
      const walked = await walk(`/v1/users/${player.userId}/history`, 7, async (page) => {
        if (page === 1) await accrue();
      });
      const revisions = walked.map((event) => event.revision as number);
      expect(revisions).toEqual(revisions.map((_revision, index) => index));
      expect(walked.slice(0, before.length)).toEqual(before);
      expect(walked.length).toBeGreaterThan(before.length);
    });
  });

  describe('ties on the sort values', () => {
    it('orders two payouts of one user stamped with the same request time and amount, the same way on every page size', async () => {
      const tied = await earner(app, 0);
      const at = Date.now() - 30 * MINUTE_MS;
      for (const minute of [0, 1]) {
        const answer = await call(app, 'POST', `/v1/users/${tied.userId}/kills`, { lifetimeKills: 5 * (minute + 1), observedAt: new Date(at + minute * MINUTE_MS).toISOString() });
        expect(answer.status).toBe(202);
      }
      await synced(app);
      const accruals = await app.pool.anyFirst(sql.unsafe`SELECT accrual_id FROM reward_accruals WHERE user_id = ${tied.userId} ORDER BY epoch_minute`);
      const now = new Date();
      const amount = (await app.pool.oneFirst(sql.unsafe`SELECT amount_raw::text FROM reward_accruals WHERE accrual_id = ${String(accruals[0])}`)) as string;
      for (const accrualId of accruals) {
        await runUserCommand(
          app.store,
          tied.userId,
          {
            type: 'RequestPayout',
            data: {
              payoutId: randomUUID(),
              runId: randomUUID(),
              gateway: 'dry-run',
              address: tied.address,
              kills: 5n,
              amountRaw: BigInt(amount),
              idempotencyKey: `tie-${String(accrualId)}`,
              accruals: [{ accrualId: String(accrualId), kills: 5n }],
              requireVerifiedWallet: false,
              now,
            },
          },
          { correlationId: 'test', causationId: null, actor: { kind: 'admin', name: 'test' } },
        );
        // One payout in flight per user: the first is sent before the second is requested.
        if (accrualId === accruals[0]) {
          await synced(app);
          expect((await app.workers.payoutExecutor.runOnce()).failed).toBe(0);
        }
      }
      await synced(app);
      const all = (await get(`/v1/users/${tied.userId}/payouts?limit=100`)).body.items as Json[];
      expect(all).toHaveLength(2);
      expect(all.map((payout) => [payout.requestedAt, payout.amountRaw])).toEqual([
        [now.toISOString(), amount],
        [now.toISOString(), amount],
      ]);
      // The later request first, on one page or on two.
      expect(all.map((payout) => (payout.accruals as Array<{ accrualId: string }>)[0].accrualId)).toEqual([accruals[1], accruals[0]]);
      for (let repeat = 0; repeat < 3; repeat += 1) {
        expect((await walk(`/v1/users/${tied.userId}/payouts`, 1)).map((payout) => payout.payoutId)).toEqual(all.map((payout) => payout.payoutId));
      }
    });

    it('gives the leaderboard and the feed one order through ties: every shorter list is the start of the longer', async () => {
      // Five players of the same kills and BAN, paid by one settlement run: their payouts share a
      // request time and an amount, and so do their sent times once the executor sends them.
      const equals: Earner[] = [];
      for (let index = 0; index < 5; index += 1) equals.push(await earner(app, 4));
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.status).toBe(200);
      await synced(app);
      const check = async (): Promise<void> => {
        for (const path of ['/v1/leaderboard?by=kills', '/v1/leaderboard?by=earned', '/v1/feed?']) {
          const full = (await get(`${path}&limit=100`)).body.items as Json[];
          expect(full.length).toBeGreaterThan(5);
          for (let limit = 1; limit <= full.length; limit += 1) {
            const part = (await get(`${path}&limit=${limit}`)).body.items as Json[];
            expect([path, limit, part]).toEqual([path, limit, full.slice(0, limit)]);
          }
        }
        const feed = (await get('/v1/feed?limit=100')).body.items as Json[];
        const tiedPayouts = feed.filter((item) => item.kind === 'payout' && equals.some((equal) => equal.discordUserId.endsWith((item.displayName as string).slice(-4))));
        expect(tiedPayouts).toHaveLength(5);
        // At one instant, the larger payout id first (the feed's tiebreaker).
        const sameAt = tiedPayouts.filter((item) => item.at === tiedPayouts[0].at);
        expect(sameAt.map((item) => item.payoutId)).toEqual(sameAt.map((item) => item.payoutId as string).sort().reverse());
      };
      await check();
      expect((await app.workers.payoutExecutor.runOnce()).failed).toBe(0);
      await synced(app);
      await check();
    });
  });

  describe('cursors that are not one this API returned for this list', () => {
    let own: string;

    beforeAll(async () => {
      own = (await get(`/v1/users/${player.userId}/payouts?limit=1`)).body.nextCursor as string;
      expect(typeof own).toBe('string');
    });

    const refused = async (path: string): Promise<void> => {
      const answer = await get(path);
      expect([path, answer.status, answer.contentType.split(';')[0], answer.body.code]).toEqual([path, 422, 'application/problem+json', 'invalid_cursor']);
    };

    const raw = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

    it('refuses a cursor of another list: another user, another route, other filters', async () => {
      const other = await earner(app, 1);
      await synced(app);
      const accrualsCursor = (await get(`/v1/users/${player.userId}/accruals?limit=1`)).body.nextCursor as string;
      const historyCursor = (await get(`/v1/users/${player.userId}/history?limit=1`)).body.nextCursor as string;
      const auditCursor = (await get('/v1/admin/audit?limit=1')).body.nextCursor as string;
      expect([accrualsCursor, historyCursor, auditCursor].every((cursor) => typeof cursor === 'string')).toBe(true);
      for (const path of [
        `/v1/users/${other.userId}/payouts?cursor=${own}`,
        `/v1/users/${player.userId}/accruals?cursor=${own}`,
        `/v1/users/${player.userId}/history?cursor=${own}`,
        `/v1/admin/audit?cursor=${own}`,
        `/v1/users/${player.userId}/payouts?cursor=${accrualsCursor}`,
        `/v1/users/${player.userId}/payouts?cursor=${historyCursor}`,
        `/v1/users/${player.userId}/payouts?cursor=${auditCursor}`,
        `/v1/users/${player.userId}/accruals?cursor=${auditCursor}`,
        `/v1/admin/audit?action=settlement.run&cursor=${auditCursor}`,
      ]) {
        await refused(path);
      }
      // The same user id in capitals names the same list.
      expect((await get(`/v1/users/${player.userId.toUpperCase()}/payouts?cursor=${own}`)).status).toBe(200);
    });

    it('refuses a truncated cursor, whatever its length', async () => {
      for (let length = 0; length < own.length; length += 1) await refused(`/v1/users/${player.userId}/payouts?cursor=${own.slice(0, length)}`);
    });

    it('refuses a cursor that decodes to the wrong shape', async () => {
      const digest = (JSON.parse(Buffer.from(own, 'base64url').toString('utf8')) as { s: string }).s;
      const shapes: unknown[] = [
        null,
        42,
        'p',
        [],
        [{ p: '1', s: digest }],
        {},
        { s: digest },
        { p: '1' },
        { p: '1', s: null },
        { p: '1', s: digest.toUpperCase() },
        { p: -1, s: digest },
        { p: '-1', s: digest },
        { p: 1.5, s: digest },
        { p: '1.5', s: digest },
        { p: 1e21, s: digest },
        { p: '9223372036854775808', s: digest },
        { p: '99999999999999999999', s: digest },
        { p: '', s: digest },
        { p: ' 1', s: digest },
        { p: '0x10', s: digest },
        { p: true, s: digest },
        { p: null, s: digest },
        { p: ['1'], s: digest },
        { p: { toString: '1' }, s: digest },
      ];
      for (const shape of shapes) await refused(`/v1/users/${player.userId}/payouts?cursor=${raw(shape)}`);
      for (const cursor of ['', '%20', 'not-a-cursor', '....', encodeURIComponent('{"p":"1"}'), 'x'.repeat(513), `${own}&cursor=${own}`]) {
        await refused(`/v1/users/${player.userId}/payouts?cursor=${cursor}`);
      }
    });

    it('answers a cursor with one character changed with a 422, or with a page of the same list: never a 5xx, never a foreign row', async () => {
      const all = ((await get(`/v1/users/${player.userId}/payouts?limit=100`)).body.items as Json[]).map((payout) => payout.payoutId);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const statuses = new Map<number, number>();
      for (let index = 0; index < own.length; index += 1) {
        for (const replacement of [alphabet[(alphabet.indexOf(own[index]) + 1) % 64], alphabet[(alphabet.indexOf(own[index]) + 17) % 64]]) {
          const tampered = `${own.slice(0, index)}${replacement}${own.slice(index + 1)}`;
          const answer = await get(`/v1/users/${player.userId}/payouts?limit=100&cursor=${tampered}`);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 200) {
            // A hand-edited position inside this list's own cursor: a run of the list's end.
            const ids = (answer.body.items as Json[]).map((payout) => payout.payoutId);
            expect(all.slice(all.length - ids.length)).toEqual(ids);
          } else {
            expect([tampered, answer.status, answer.body.code]).toEqual([tampered, 422, 'invalid_cursor']);
          }
        }
      }
      expect(statuses.get(422)).toBeGreaterThan(0);
    });

    it('answers a cursor past either end of the positions with a page, not a 5xx', async () => {
      const scope = `payouts:${player.userId}`;
      expect((await get(`/v1/users/${player.userId}/payouts?cursor=${encodeCursor(scope, { p: '0' })}`)).body).toEqual({ items: [], nextCursor: null });
      const top = await get(`/v1/users/${player.userId}/payouts?limit=100&cursor=${encodeCursor(scope, { p: '9223372036854775807' })}`);
      expect(top.status).toBe(200);
      expect((top.body.items as Json[]).length).toBeGreaterThan(7);
      const accruals = await get(`/v1/users/${player.userId}/accruals?cursor=${encodeCursor(`accruals:${player.userId}`, { m: '9223372036854775807' })}`);
      expect(accruals.status).toBe(200);
      // A cursor of an unknown user's own list does not make their list an empty page.
      const nobody = randomUUID();
      for (const path of [`/v1/users/${nobody}/payouts?cursor=${encodeCursor(`payouts:${nobody}`, { p: '5' })}`, `/v1/users/${nobody}/accruals?cursor=${encodeCursor(`accruals:${nobody}`, { m: '5' })}`]) {
        expect([path, (await get(path)).body.code]).toEqual([path, 'user_not_found']);
      }
    });
  });

  describe('limits', () => {
    const paths = (): string[] => [`/v1/users/${player.userId}/payouts`, `/v1/users/${player.userId}/accruals`, `/v1/users/${player.userId}/history`, '/v1/admin/audit'];

    it.each(['0', '-1', '101', '1.5', '1e1', '0x10', '', '%20', '+5', '%205', '5%20', 'Infinity', 'NaN', '99999999999999999999999', '1&limit=2', '١'])(
      'refuses limit=%s with 422 invalid_limit on every paged route',
      async (limit) => {
        for (const path of paths()) {
          const answer = await get(`${path}?limit=${limit}`);
          expect([path, answer.status, answer.contentType.split(';')[0], answer.body.code]).toEqual([path, 422, 'application/problem+json', 'invalid_limit']);
        }
      },
    );

    it('takes 1 and 100, and 50 when none is given', async () => {
      for (const path of paths()) {
        expect([path, ((await get(`${path}?limit=1`)).body.items as Json[]).length]).toEqual([path, 1]);
        expect([path, (await get(`${path}?limit=100`)).status]).toEqual([path, 200]);
      }
      const history = await get(`/v1/users/${player.userId}/history?limit=100`);
      expect((history.body.items as Json[]).length).toBeGreaterThan(50);
      expect(((await get(`/v1/users/${player.userId}/history`)).body.items as Json[]).length).toBe(50);
    });
  });

  describe('money in the answers', () => {
    it('gives every amount as raw digits and its BAN rounded down to 8 decimals, the same on every route', async () => {
      await synced(app);
      const payouts = (await get(`/v1/users/${player.userId}/payouts?limit=100`)).body.items as Json[];
      const accruals = (await get(`/v1/users/${player.userId}/accruals?limit=100`)).body.items as Json[];
      const feed = (await call(app, 'GET', '/v1/feed?limit=100', undefined, { authorization: '' })).body.items as Json[];
      const leaderboard = (await call(app, 'GET', '/v1/leaderboard?limit=100', undefined, { authorization: '' })).body.items as Json[];
      const pairs: Array<[unknown, unknown]> = [
        ...payouts.map((payout): [unknown, unknown] => [payout.amountRaw, payout.amountBan]),
        ...accruals.flatMap((accrual): Array<[unknown, unknown]> => [
          [accrual.amountRaw, accrual.amountBan],
          [accrual.ratePerKillRaw, accrual.ratePerKillBan],
        ]),
        ...feed.map((item): [unknown, unknown] => [item.amountRaw, item.amountBan]),
        ...leaderboard.flatMap((entry): Array<[unknown, unknown]> => [
          [entry.earnedRaw, entry.earnedBan],
          [entry.paidRaw, entry.paidBan],
        ]),
      ];
      expect(pairs.length).toBeGreaterThan(20);
      for (const [rawAmount, ban] of pairs) {
        expect(typeof rawAmount).toBe('string');
        expect(rawAmount).toMatch(/^(0|[1-9][0-9]*)$/);
        expect(ban).toBe(formatBan(BigInt(rawAmount as string)));
      }
      for (const payout of payouts) {
        const one = await get(`/v1/payouts/${payout.payoutId as string}`);
        expect(one.body).toMatchObject({ amountRaw: payout.amountRaw, amountBan: payout.amountBan });
        const inFeed = feed.find((item) => item.payoutId === payout.payoutId);
        if (inFeed !== undefined) expect(inFeed).toMatchObject({ amountRaw: payout.amountRaw, amountBan: payout.amountBan });
      }
      // The user's totals agree with the list: what was paid is the sum of the sent payouts.
      const user = (await get(`/v1/users/${player.userId}`)).body;
      const paid = payouts.filter((payout) => payout.status === 'sent').reduce((sum, payout) => sum + BigInt(payout.amountRaw as string), 0n);
      expect(user).toMatchObject({ totalPaidRaw: paid.toString(), totalPaidBan: formatBan(paid) });
    });
  });
});
