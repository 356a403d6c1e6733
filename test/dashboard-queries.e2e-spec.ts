import { sql } from 'slonik';
import { publicId } from '../src/dashboard-queries/public-ids';
import { userIdFromDiscordId } from '../src/identity/user/user.stream';
import { ConfigError, loadConfig } from '../src/platform/config/config';
import { call, earner, type Earner, requestPayoutPlannedInDryRun, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;

type Json = Record<string, unknown>;

/** A public GET, sent without any key, as the dashboard's browser sends it. */
async function publicGet(app: TestApp, path: string): Promise<{ status: number; contentType: string; body: Json }> {
  const answer = await call(app, 'GET', path, undefined, { authorization: '' });
  return answer;
}

const masked = (discordUserId: string): string => `••••${discordUserId.slice(-4)}`;

/** The public ids the routes give users and accruals, under the key of `app`'s database (migrations/0025). */
async function publicIds(app: TestApp): Promise<{ player: (userId: string) => string; accrual: (accrualId: string) => string }> {
  const key = String(await app.pool.oneFirst(sql.unsafe`SELECT key FROM public_id_key`));
  return { player: (userId) => publicId(key, 'player', userId), accrual: (accrualId) => publicId(key, 'accrual', accrualId) };
}

/** The settlement run now, then the dry-run (or live) executor once: every payout it requested is sent. */
async function settleAndSend(app: TestApp, sent: number): Promise<Array<{ payoutId: string; userId: string }>> {
  await synced(app);
  const run = await call(app, 'POST', '/v1/admin/settlements', {});
  expect(run.status).toBe(200);
  await synced(app);
  if (sent > 0) expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent, failed: 0 });
  await synced(app);
  return run.body.payouts as Array<{ payoutId: string; userId: string }>;
}

/**
 * The public dashboard routes (SPEC §5): GET /v1/leaderboard?by=kills|earned&limit= and
 * GET /v1/feed?limit=, open without a key, players named by a masked Discord id.
 */
describe('GET /v1/leaderboard and GET /v1/feed', () => {
  describe('on an empty ledger', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    });

    afterAll(async () => {
      await app.close();
    });

    it('answer empty lists without a key, the feed saying the gateway is dry-run', async () => {
      for (const path of ['/v1/leaderboard', '/v1/leaderboard?by=kills', '/v1/leaderboard?by=earned&limit=100']) {
        const answer = await publicGet(app, path);
        expect([path, answer.status]).toEqual([path, 200]);
        expect(answer.contentType).toMatch(/^application\/json/);
        expect(answer.body).toEqual({ by: path.includes('earned') ? 'earned' : 'kills', items: [] });
      }
      const feed = await publicGet(app, '/v1/feed');
      expect(feed.status).toBe(200);
      expect(feed.body).toEqual({ gateway: 'dry-run', items: [] });
    });

    it('leave out players with nothing accrued', async () => {
      await earner(app, 0);
      await synced(app);
      expect((await publicGet(app, '/v1/leaderboard')).body).toEqual({ by: 'kills', items: [] });
      expect((await publicGet(app, '/v1/leaderboard?by=earned')).body).toEqual({ by: 'earned', items: [] });
      expect((await publicGet(app, '/v1/feed')).body).toEqual({ gateway: 'dry-run', items: [] });
    });

    it('answer 10 players and 20 feed items unless told otherwise, and up to 100 when told', async () => {
      // 11 more players of one kill each, and one of 21 accruals, one a minute.
      for (let index = 0; index < 11; index += 1) await earner(app, 1);
      const busy = await earner(app, 0);
      for (let minute = 0; minute < 21; minute += 1) {
        const observedAt = new Date(Date.now() - (40 - minute) * 60_000).toISOString();
        expect((await call(app, 'POST', `/v1/users/${busy.userId}/kills`, { lifetimeKills: minute + 1, observedAt })).status).toBe(202);
      }
      await synced(app);
      const leaderboard = (await publicGet(app, '/v1/leaderboard')).body.items as Json[];
      expect(leaderboard).toHaveLength(10);
      expect(leaderboard.map((entry) => entry.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(leaderboard[0]).toMatchObject({ playerId: (await publicIds(app)).player(busy.userId), kills: 21 });
      expect((await publicGet(app, '/v1/leaderboard?limit=100')).body.items).toHaveLength(12);
      expect((await publicGet(app, '/v1/leaderboard?limit=1')).body.items).toHaveLength(1);
      expect((await publicGet(app, '/v1/feed')).body.items).toHaveLength(20);
      expect((await publicGet(app, '/v1/feed?limit=100')).body.items).toHaveLength(32);
      expect((await publicGet(app, '/v1/feed?limit=1')).body.items).toHaveLength(1);
    });

    it.each([
      ['/v1/leaderboard?by=deaths', 'invalid_leaderboard_by'],
      ['/v1/leaderboard?by=', 'invalid_leaderboard_by'],
      ['/v1/leaderboard?by=KILLS', 'invalid_leaderboard_by'],
      ['/v1/leaderboard?by=kills&by=earned', 'invalid_leaderboard_by'],
      [`/v1/leaderboard?by=${'k'.repeat(200)}`, 'invalid_leaderboard_by'],
      ['/v1/leaderboard?limit=0', 'invalid_limit'],
      ['/v1/leaderboard?limit=101', 'invalid_limit'],
      ['/v1/leaderboard?limit=-1', 'invalid_limit'],
      ['/v1/leaderboard?limit=1.5', 'invalid_limit'],
      ['/v1/leaderboard?limit=ten', 'invalid_limit'],
      ['/v1/leaderboard?limit=', 'invalid_limit'],
      ['/v1/leaderboard?limit=99999999999999999999999', 'invalid_limit'],
      ['/v1/leaderboard?colour=red', 'unknown_property'],
      ['/v1/leaderboard?cursor=abc', 'unknown_property'],
      ['/v1/feed?limit=0', 'invalid_limit'],
      ['/v1/feed?limit=101', 'invalid_limit'],
      ['/v1/feed?limit=2.5', 'invalid_limit'],
      ['/v1/feed?limit=many', 'invalid_limit'],
      ['/v1/feed?limit=1&limit=2', 'invalid_limit'],
      ['/v1/feed?by=kills', 'unknown_property'],
      ['/v1/feed?minPosition=1', 'unknown_property'],
      ['/v1/leaderboard?limit=0x10', 'invalid_limit'],
      ['/v1/feed?limit=1e1', 'invalid_limit'],
      ['/v1/donations?minPosition=1', 'unknown_property'],
      ['/v1/donations?limit=5', 'unknown_property'],
    ])('refuses %s with 422 %s, appending nothing', async (path, code) => {
      const head = await app.store.headPosition();
      const answer = await publicGet(app, path);
      expect(answer.status).toBe(422);
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 422, code });
      expect(await app.store.headPosition()).toBe(head);
    });
  });

  describe('with accruals and dry-run payouts', () => {
    let app: TestApp;
    /** 30 kills at 0.1 BAN, paid. */
    let a: Earner;
    /** 30 kills at 0.1 BAN, paid: ties a on kills and on BAN. */
    let b: Earner;
    /** 100 kills at 0.1 BAN, paid. */
    let c: Earner;
    /** 9 kills at 0.1 BAN, no wallet so never paid: 0.9 BAN, which as text would rank above 10 BAN. */
    let d: Omit<Earner, 'address'>;
    /** 20 kills at 1 BAN, after the base rate went up; its payout is requested, not sent. */
    let f: Earner;
    let sentPayouts: Array<{ payoutId: string; userId: string }>;
    let pendingPayout: { payoutId: string; userId: string };

    beforeAll(async () => {
      app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
      // 0.05 BAN a kill × sustainability factor 2.0 (nothing paid yet) = 0.1 BAN.
      a = await earner(app, 30);
      b = await earner(app, 30);
      c = await earner(app, 100);
      d = await earner(app, 9, { wallet: null });
      await earner(app, 0);
      sentPayouts = await settleAndSend(app, 3);
      // 0.5 × 2.0 = 1 BAN a kill from now on: F earns most BAN with fewer kills than C.
      expect((await call(app, 'PUT', '/v1/admin/config/payout', { banPerKill: '0.5' })).status).toBe(200);
      f = await earner(app, 20);
      [pendingPayout] = await settleAndSend(app, 0);
      await synced(app);
    }, 60_000);

    afterAll(async () => {
      await app.close();
    });

    const byUserId = (first: { userId: string }, second: { userId: string }): number => (first.userId < second.userId ? -1 : 1);

    it('ranks players by kills, ties by user id, with what they earned and were paid', async () => {
      const answer = await publicGet(app, '/v1/leaderboard?by=kills');
      expect(answer.status).toBe(200);
      const [first, second] = [a, b].sort(byUserId);
      const ids = await publicIds(app);
      expect(answer.body).toEqual({
        by: 'kills',
        items: [
          { rank: 1, playerId: ids.player(c.userId), displayName: masked(c.discordUserId), kills: 100, earnedRaw: (10n * BAN).toString(), earnedBan: '10.00000000', paidRaw: (10n * BAN).toString(), paidBan: '10.00000000' },
          { rank: 2, playerId: ids.player(first.userId), displayName: masked(first.discordUserId), kills: 30, earnedRaw: (3n * BAN).toString(), earnedBan: '3.00000000', paidRaw: (3n * BAN).toString(), paidBan: '3.00000000' },
          { rank: 3, playerId: ids.player(second.userId), displayName: masked(second.discordUserId), kills: 30, earnedRaw: (3n * BAN).toString(), earnedBan: '3.00000000', paidRaw: (3n * BAN).toString(), paidBan: '3.00000000' },
          { rank: 4, playerId: ids.player(f.userId), displayName: masked(f.discordUserId), kills: 20, earnedRaw: (20n * BAN).toString(), earnedBan: '20.00000000', paidRaw: '0', paidBan: '0.00000000' },
          { rank: 5, playerId: ids.player(d.userId), displayName: masked(d.discordUserId), kills: 9, earnedRaw: ((9n * BAN) / 10n).toString(), earnedBan: '0.90000000', paidRaw: '0', paidBan: '0.00000000' },
        ],
      });
      // The default measure is kills.
      expect((await publicGet(app, '/v1/leaderboard')).body).toEqual(answer.body);
    });

    it('ranks players by BAN earned, as amounts and not as text, ties by user id', async () => {
      const answer = await publicGet(app, '/v1/leaderboard?by=earned');
      expect(answer.status).toBe(200);
      const [first, second] = [a, b].sort(byUserId);
      const { player } = await publicIds(app);
      expect(answer.body.by).toBe('earned');
      expect((answer.body.items as Json[]).map((entry) => [entry.rank, entry.playerId, entry.earnedBan])).toEqual([
        [1, player(f.userId), '20.00000000'],
        [2, player(c.userId), '10.00000000'],
        [3, player(first.userId), '3.00000000'],
        [4, player(second.userId), '3.00000000'],
        [5, player(d.userId), '0.90000000'],
      ]);
      const top2 = await publicGet(app, '/v1/leaderboard?by=earned&limit=2');
      expect((top2.body.items as Json[]).map((entry) => [entry.rank, entry.playerId])).toEqual([
        [1, player(f.userId)],
        [2, player(c.userId)],
      ]);
    });

    it('reports as paid what GET /v1/users/:userId reports as totalPaidRaw', async () => {
      const items = (await publicGet(app, '/v1/leaderboard?limit=100')).body.items as Json[];
      const { player } = await publicIds(app);
      const userOf = new Map([a, b, c, d, f].map((earned) => [player(earned.userId), earned.userId]));
      expect(items.map((entry) => userOf.has(String(entry.playerId)))).toEqual(items.map(() => true));
      for (const entry of items) {
        const user = await call(app, 'GET', `/v1/users/${String(userOf.get(String(entry.playerId)))}`);
        expect([entry.playerId, entry.paidRaw, entry.kills]).toEqual([entry.playerId, user.body.totalPaidRaw, user.body.accruedKillCount]);
      }
    });

    it('shows accruals and payouts newest first, payouts at their sent time, else their request time', async () => {
      const answer = await publicGet(app, '/v1/feed');
      expect(answer.status).toBe(200);
      expect(answer.body.gateway).toBe('dry-run');
      const items = answer.body.items as Json[];
      const times = items.map((item) => Date.parse(String(item.at)));
      expect(times).toEqual([...times].sort((x, y) => y - x));

      const payouts = await Promise.all([pendingPayout, ...sentPayouts].map(async ({ payoutId }) => (await call(app, 'GET', `/v1/payouts/${payoutId}`)).body));
      const accruals = await app.pool.any(sql.unsafe`SELECT accrual_id, user_id, recorded_at FROM reward_accruals ORDER BY recorded_at DESC`);
      const ids = await publicIds(app);
      // Ties are broken by the real id; an accrual shows its public id.
      const expected = [
        ...payouts.map((payout) => ({ kind: 'payout', id: payout.payoutId, shown: payout.payoutId, at: payout.sentAt ?? payout.requestedAt })),
        ...accruals.map((row) => ({ kind: 'accrual', id: row.accrual_id, shown: ids.accrual(String(row.accrual_id)), at: (row.recorded_at as Date).toISOString() })),
      ]
        .sort((x, y) => Date.parse(String(y.at)) - Date.parse(String(x.at)) || (x.kind < y.kind ? 1 : x.kind > y.kind ? -1 : 0) || (String(x.id) < String(y.id) ? 1 : -1))
        .map(({ kind, shown, at }) => ({ kind, id: shown, at }));
      expect(items.map((item) => ({ kind: item.kind, id: item.kind === 'accrual' ? item.accrualKey : item.payoutId, at: item.at }))).toEqual(expected);
      // F's payout was requested after F's accrual, and both after the three payouts were sent,
      // which were sent after every other accrual: the kinds interleave.
      expect(items.map((item) => item.kind)).toEqual(['payout', 'accrual', 'payout', 'payout', 'payout', 'accrual', 'accrual', 'accrual', 'accrual']);
      expect(items[0]).toMatchObject({ payoutId: pendingPayout.payoutId, playerId: ids.player(f.userId), at: payouts[0].requestedAt });
      expect(items[1]).toMatchObject({ playerId: ids.player(f.userId) });
      expect(items.slice(5).map((item) => item.playerId)).toEqual([d, c, b, a].map((earned) => ids.player(earned.userId)));
    });

    it('marks dry-run payouts dryRun, with their dryrun- hash and no explorer link', async () => {
      const items = (await publicGet(app, '/v1/feed')).body.items as Json[];
      const [pending, ...sent] = items.filter((item) => item.kind === 'payout');
      const { player } = await publicIds(app);
      expect(pending).toEqual({
        kind: 'payout',
        at: expect.any(String),
        playerId: player(f.userId),
        displayName: masked(f.discordUserId),
        payoutId: pendingPayout.payoutId,
        status: 'pending',
        kills: 20,
        amountRaw: (20n * BAN).toString(),
        amountBan: '20.00000000',
        blockHash: null,
        blockUrl: null,
        dryRun: true,
      });
      expect(sent).toHaveLength(3);
      for (const payout of sent) {
        expect(payout).toMatchObject({ status: 'sent', blockHash: `dryrun-${String(payout.payoutId)}`, blockUrl: null, dryRun: true });
      }
      const cPayout = sent.find((payout) => payout.playerId === player(c.userId));
      expect(cPayout).toMatchObject({ displayName: masked(c.discordUserId), kills: 100, amountRaw: (10n * BAN).toString(), amountBan: '10.00000000' });
      const accrual = items.find((item) => item.kind === 'accrual' && item.playerId === player(d.userId));
      expect(accrual).toEqual({
        kind: 'accrual',
        at: expect.any(String),
        playerId: player(d.userId),
        displayName: masked(d.discordUserId),
        accrualKey: expect.stringMatching(/^[0-9a-f]{32}$/),
        kills: 9,
        amountRaw: ((9n * BAN) / 10n).toString(),
        amountBan: '0.90000000',
      });
    });

    it('cuts the feed at limit, keeping the newest', async () => {
      const all = (await publicGet(app, '/v1/feed?limit=100')).body.items as Json[];
      const three = (await publicGet(app, '/v1/feed?limit=3')).body.items as Json[];
      expect(three).toEqual(all.slice(0, 3));
    });

    it('never shows a Discord id in full, unless told to', async () => {
      const texts = JSON.stringify([
        (await publicGet(app, '/v1/leaderboard?limit=100')).body,
        (await publicGet(app, '/v1/leaderboard?by=earned&limit=100')).body,
        (await publicGet(app, '/v1/feed?limit=100')).body,
      ]);
      for (const player of [a, b, c, d, f]) {
        expect(texts).not.toContain(player.discordUserId);
        expect(texts).not.toContain(player.discordUserId.slice(0, -4));
        expect(texts).toContain(masked(player.discordUserId));
      }
    });
  });

  it('gives the public no id a Discord id leads to: neither the user id (a UUID v5 of it) nor the accrual id (one of the user id)', async () => {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      const player = await earner(app, 10);
      await settleAndSend(app, 1);
      const accrualIds = await app.pool.anyFirst(sql.unsafe`SELECT accrual_id::text FROM reward_accruals WHERE user_id = ${player.userId}`);
      expect(accrualIds).toHaveLength(1);
      const answers = JSON.stringify([(await publicGet(app, '/v1/leaderboard')).body, (await publicGet(app, '/v1/feed')).body]);
      // What someone who knows the Discord id can compute, never in a public answer.
      expect(userIdFromDiscordId(player.discordUserId)).toBe(player.userId);
      for (const derived of [player.userId, ...accrualIds]) expect(answers).not.toContain(String(derived));
      // The player is still one player on both lists.
      const playerId = (await publicIds(app)).player(player.userId);
      expect(answers.split(playerId).length - 1).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('shows Discord ids in full with DASHBOARD_SHOW_DISCORD_IDS=true', async () => {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', DASHBOARD_SHOW_DISCORD_IDS: 'true' });
    try {
      const player = await earner(app, 10);
      await settleAndSend(app, 1);
      const leaderboard = await publicGet(app, '/v1/leaderboard');
      expect(leaderboard.body.items).toEqual([expect.objectContaining({ playerId: (await publicIds(app)).player(player.userId), displayName: player.discordUserId })]);
      const feed = (await publicGet(app, '/v1/feed')).body.items as Json[];
      expect(feed.map((item) => [item.kind, item.displayName])).toEqual([
        ['payout', player.discordUserId],
        ['accrual', player.discordUserId],
      ]);
    } finally {
      await app.close();
    }
  });

  it('links a live payout\'s block on the explorer, and marks a payout planned in dry-run dryRun even when live', async () => {
    await withLiveApp({ openWithRaw: 1_000n * BAN }, async ({ app }) => {
      const player = await earner(app, 10);
      const [live] = await settleAndSend(app, 1);

      // A payout a dry run planned (say, before BANANO_RPC_URL was set) stays the dry gateway's.
      const dry = await earner(app, 8);
      const dryPayoutId = await requestPayoutPlannedInDryRun(app, dry, 8n, (8n * BAN) / 10n);
      await synced(app);

      const feed = await publicGet(app, '/v1/feed');
      expect(feed.status).toBe(200);
      expect(feed.body.gateway).toBe('live');
      const payouts = (feed.body.items as Json[]).filter((item) => item.kind === 'payout');
      const sentView = (await call(app, 'GET', `/v1/payouts/${live.payoutId}`)).body;
      expect(sentView).toMatchObject({ status: 'sent', gateway: 'live' });
      const hash = String(sentView.blockHash);
      expect(hash).toMatch(/^[0-9A-Fa-f]{64}$/);
      const ids = await publicIds(app);
      expect(payouts).toEqual([
        expect.objectContaining({ payoutId: dryPayoutId, playerId: ids.player(dry.userId), status: 'pending', blockHash: null, blockUrl: null, dryRun: true }),
        expect.objectContaining({
          payoutId: live.payoutId,
          playerId: ids.player(player.userId),
          status: 'sent',
          kills: 10,
          blockHash: hash,
          blockUrl: `https://creeper.banano.cc/hash/${hash}`,
          dryRun: false,
        }),
      ]);
    });
  });
});

describe('the dashboard settings', () => {
  it('default to masked ids and the Creeper explorer, and keep the explorer URL as written', () => {
    const defaults = loadConfig({});
    expect(defaults.dashboard.showDiscordIds).toBe(false);
    expect(defaults.banano.explorerBlockUrl).toBe('https://creeper.banano.cc/hash/');
    const custom = loadConfig({ DASHBOARD_SHOW_DISCORD_IDS: 'yes', BANANO_EXPLORER_BLOCK_URL: 'http://explorer.example/block?hash=' });
    expect(custom.dashboard.showDiscordIds).toBe(true);
    expect(custom.banano.explorerBlockUrl).toBe('http://explorer.example/block?hash=');
    expect(defaults.product).toEqual({ name: 'Pay2Slay', bannerUrl: null });
    expect(loadConfig({ PRODUCT_NAME: 'Slay & <Pay>', PRODUCT_BANNER_URL: 'https://cdn.example.com/b.png' }).product).toEqual({ name: 'Slay & <Pay>', bannerUrl: 'https://cdn.example.com/b.png' });
  });

  it.each([
    ['BANANO_EXPLORER_BLOCK_URL', 'without a scheme', 'creeper.banano.cc/hash/'],
    ['BANANO_EXPLORER_BLOCK_URL', 'not http(s)', 'ftp://creeper.banano.cc/hash/'],
    ['BANANO_EXPLORER_BLOCK_URL', 'with quotes and angle brackets', 'https://creeper.banano.cc/hash/"><script>'],
    ['BANANO_EXPLORER_BLOCK_URL', 'over 512 characters', `https://creeper.banano.cc/${'h'.repeat(600)}/`],
    ['BANANO_EXPLORER_BLOCK_URL', 'with a user name and password', 'https://viewer:hunter2@creeper.banano.cc/hash/'],
    ['DASHBOARD_SHOW_DISCORD_IDS', 'neither true nor false', 'maybe'],
    ['PRODUCT_NAME', 'over 60 characters', 'P'.repeat(61)],
    ['PRODUCT_NAME', 'with a control character', 'Pay\u00072Slay'],
    ['PRODUCT_BANNER_URL', 'without a scheme', 'cdn.example.com/banner.png'],
    ['PRODUCT_BANNER_URL', 'not http(s)', 'javascript:alert(1)'],
    ['PRODUCT_BANNER_URL', 'with quotes', 'https://cdn.example.com/banner.png" onerror="x'],
    ['PRODUCT_BANNER_URL', 'over 2048 characters', `https://cdn.example.com/${'b'.repeat(2_100)}.png`],
    ['PRODUCT_BANNER_URL', 'with a user name and password', 'https://viewer:hunter2@cdn.example.com/banner.png'],
  ])('refuses %s %s, naming the variable', (name, _why, value) => {
    let problem: unknown = null;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      problem = error;
    }
    expect(problem).toBeInstanceOf(ConfigError);
    expect((problem as ConfigError).problems).toEqual([expect.stringMatching(new RegExp(`^${name} must `))]);
    // Every feed link would publish a password in the URL; the message never repeats it.
    expect((problem as ConfigError).message).not.toContain('hunter2');
  });
});
