import { sql } from 'slonik';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { operatorStream } from '../src/payouts/operator/operator.events';
import { call, donateFrom, earner, type LiveApp, newBananoAccount, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;

/**
 * Donations as the public sees them (SPEC §4.5, §5 GET /v1/donations), and the rate they set for
 * new accruals (§4.2): the milestone multiplier from the total donated, the sustainability factor
 * from the seed fund, the donations and what was paid out.
 */
describe('GET /v1/donations and the rate donations set', () => {
  const withLive = (env: Record<string, string>, body: (live: LiveApp) => Promise<void>): Promise<void> => withLiveApp({ env: () => env }, body);

  async function donations(app: TestApp): Promise<Record<string, unknown>> {
    await synced(app);
    const answer = await call(app, 'GET', '/v1/donations');
    expect(answer.status).toBe(200);
    return answer.body;
  }

  const milestonesOf = async (app: TestApp, address: string) =>
    (await app.store.readStream(operatorStream(address))).filter((event) => event.type === 'MilestoneReached');

  /** An observation `minutesAgo` minutes ago: one accrual per minute, so each test step uses its own. */
  async function observe(app: TestApp, userId: string, lifetimeKills: number, minutesAgo: number): Promise<Record<string, unknown>> {
    const observedAt = new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const answer = await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills, observedAt });
    expect(answer.status).toBe(202);
    return answer.body.accrual as Record<string, unknown>;
  }

  it('crossing 99.99 → 100 BAN appends MilestoneReached once, and the next accrual uses ×1.05', async () => {
    await withLive({}, async ({ app, node, operator, ingester }) => {
      const [first, second, third] = await Promise.all([newBananoAccount(), newBananoAccount(), newBananoAccount()]);
      await donateFrom(node, first, operator.address, (9_999n * BAN) / 100n);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });

      const before = await donations(app);
      expect(before).toMatchObject({
        totalDonatedBan: '99.99000000',
        donationCount: 1,
        goalBan: '10000.00000000',
        progress: '0.0099',
        currentMilestone: { name: 'Fresh Spawn', multiplier: '1.00', reached: true, reachedAt: null },
        nextMilestone: { name: 'First Blood', thresholdBan: '100.00000000', remainingBan: '0.01000000', reached: false },
        multiplier: '1.00',
        sustainabilityFactor: '2.0000',
        effectiveRatePerKillBan: '0.10000000',
      });
      const player = await earner(app, 0);
      expect(await observe(app, player.userId, 10, 1)).toMatchObject({ milestoneMultiplier: '1.00', ratePerKillBan: '0.10000000', amountBan: '1.00000000' });

      const crossing = await donateFrom(node, second, operator.address, BAN / 100n);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
      await donateFrom(node, third, operator.address, BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });

      const reached = await milestonesOf(app, operator.address);
      expect(reached).toHaveLength(1);
      expect(reached[0].data).toMatchObject({ name: 'First Blood', multiplier: '1.05', totalDonatedRaw: (100n * BAN).toString(), sendHash: crossing });

      const after = await donations(app);
      expect(after).toMatchObject({
        totalDonatedBan: '101.00000000',
        donationCount: 3,
        donorCount: 3,
        progress: '0.0101',
        currentMilestone: { name: 'First Blood', multiplier: '1.05', reached: true, reachedAt: reached[0].data.reachedAt },
        nextMilestone: { name: 'Loot Drop', remainingBan: '399.00000000' },
        multiplier: '1.05',
        effectiveRatePerKillBan: '0.10500000',
      });
      const ladder = after.milestones as Array<Record<string, unknown>>;
      expect(ladder.map((tier) => tier.reached)).toEqual([true, true, false, false, false, false, false, false, false, false]);
      expect((after.topDonors as Array<Record<string, unknown>>).map((donor) => [donor.address, donor.totalBan, donor.donationCount])).toEqual([
        [first.address, '99.99000000', 1],
        [third.address, '1.00000000', 1],
        [second.address, '0.01000000', 1],
      ]);

      // The next accrual gets ×1.05; the one before keeps the factors it recorded.
      expect(await observe(app, player.userId, 30, 0)).toMatchObject({ milestoneMultiplier: '1.05', ratePerKillBan: '0.10500000', amountBan: '2.10000000' });
      await synced(app);
      const accruals = await call(app, 'GET', `/v1/users/${player.userId}/accruals`);
      expect((accruals.body.items as Array<Record<string, unknown>>).map((accrual) => accrual.milestoneMultiplier).sort()).toEqual(['1.00', '1.05']);
    });
  });

  it('one donation across several tiers appends one MilestoneReached per tier, in order', async () => {
    await withLive({}, async ({ app, node, operator, ingester }) => {
      await donateFrom(node, await newBananoAccount(), operator.address, 1_000n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
      expect((await milestonesOf(app, operator.address)).map((event) => event.data.name)).toEqual(['First Blood', 'Loot Drop', 'Supply Drop']);
      expect(await donations(app)).toMatchObject({ multiplier: '1.15', currentMilestone: { name: 'Supply Drop' }, progress: '0.1000' });
    });
  });

  it('ranks the top donors by the amount they gave, not by its digits: 10 BAN above 9 BAN', async () => {
    await withLive({}, async ({ app, node, operator, ingester }) => {
      const [nine, ten] = await Promise.all([newBananoAccount(), newBananoAccount()]);
      await donateFrom(node, nine, operator.address, 9n * BAN);
      await donateFrom(node, ten, operator.address, 10n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 2, stoppedBy: null });
      const { topDonors } = (await donations(app)) as { topDonors: Array<Record<string, unknown>> };
      expect(topDonors.map((donor) => [donor.address, donor.totalBan])).toEqual([
        [ten.address, '10.00000000'],
        [nine.address, '9.00000000'],
      ]);
    });
  });

  it('counts donations near the whole supply to the raw, digits below 10^-8 BAN too, and reaches a tier their sum meets exactly', async () => {
    // 2 × 10^9 BAN: 2 × 10^38 raw, far past what a JS number holds exactly; the BAN columns keep 10 whole digits.
    const milestones = '0:1.00:Start;1000:1.10:Kilo;2000000000:1.50:Whale';
    await withLive({ ECONOMICS_MILESTONES: milestones }, async ({ app, node, operator, ingester }) => {
      const [whale, topUp] = await Promise.all([newBananoAccount(), newBananoAccount()]);
      const fraction = 12_345_678_901_234_567_890_123_456_789n;
      const big = 1_999_999_999n * BAN + fraction;
      const rest = BAN - fraction;
      const bigSend = await donateFrom(node, whale, operator.address, big);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
      const restSend = await donateFrom(node, topUp, operator.address, rest);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });

      const total = 2_000_000_000n * BAN;
      expect((await milestonesOf(app, operator.address)).map((event) => [event.data.name, event.data.sendHash, event.data.totalDonatedRaw])).toEqual([
        ['Kilo', bigSend, big.toString()],
        ['Whale', restSend, total.toString()],
      ]);
      expect(await donations(app)).toMatchObject({
        totalDonatedRaw: total.toString(),
        totalDonatedBan: '2000000000.00000000',
        donationCount: 2,
        progress: '1.0000',
        currentMilestone: { name: 'Whale', thresholdRaw: total.toString(), reached: true },
        nextMilestone: null,
        multiplier: '1.50',
        topDonors: [
          { address: whale.address, totalRaw: big.toString(), totalBan: '1999999999.12345678', donationCount: 1 },
          { address: topUp.address, totalRaw: rest.toString(), totalBan: '0.87654321', donationCount: 1 },
        ],
      });
      const ledger = await app.pool.any(sql.unsafe`SELECT amount_raw::text AS raw, amount_ban::text AS ban FROM donation_ledger ORDER BY position`);
      expect(ledger).toEqual([
        { raw: big.toString(), ban: '1999999999.12345678' },
        { raw: rest.toString(), ban: '0.87654321' },
      ]);
    });
  });

  it('answers from one snapshot: a donation landing while the summary is read is in every field or in none', async () => {
    await withLive({}, async ({ app, node, operator, ingester }) => {
      const donor = await newBananoAccount();
      await donateFrom(node, donor, operator.address, 99n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
      await synced(app);

      // Hold payout_totals, which only the rate's statement reads, so the summary is caught in the
      // middle of its reads while the next donation, crossing 100 BAN (First Blood ×1.05), lands.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holder = app.pool.transaction(async (transaction) => {
        await transaction.query(sql.unsafe`LOCK TABLE payout_totals IN ACCESS EXCLUSIVE MODE`);
        locked();
        await released;
      });
      let answer: Promise<Awaited<ReturnType<typeof call>>> | null = null;
      try {
        await lockTaken;
        answer = call(app, 'GET', '/v1/donations');
        await waitFor(async () => {
          const waiting = await app.pool.oneFirst(sql.unsafe`
            SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE '%payout_totals%' AND pid <> pg_backend_pid()`);
          return Number(waiting) > 0;
        });
        await donateFrom(node, donor, operator.address, 2n * BAN);
        expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
        await synced(app);
      } finally {
        release();
        await holder;
      }
      const during = (await answer) as { status: number; body: Record<string, unknown> };
      expect(during.status).toBe(200);
      expectOneSnapshot(during.body);
      // And the next answer shows the donation in every field.
      expect(await donations(app)).toMatchObject({ totalDonatedBan: '101.00000000', currentMilestone: { name: 'First Blood' }, multiplier: '1.05', effectiveRatePerKillBan: '0.10500000' });
    });
  });

  /** Every field of one answer tells of the same total donated, whichever total that is. */
  function expectOneSnapshot(body: Record<string, unknown>): void {
    const donated = BigInt(body.totalDonatedRaw as string);
    const reached = donated >= 100n * BAN;
    expect(body).toMatchObject({
      currentMilestone: { name: reached ? 'First Blood' : 'Fresh Spawn', multiplier: reached ? '1.05' : '1.00' },
      nextMilestone: { name: reached ? 'Loot Drop' : 'First Blood' },
      multiplier: reached ? '1.05' : '1.00',
      effectiveRatePerKillBan: reached ? '0.10500000' : '0.10000000',
      donationCount: reached ? 2 : 1,
      topDonors: [{ totalRaw: donated.toString(), donationCount: reached ? 2 : 1 }],
    });
  }

  async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('the condition did not hold in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('funding from a funding address is counted apart: no donation, no milestone, no donor', async () => {
    const funder = await newBananoAccount();
    await withLive({ TREASURY_FUNDING_ADDRESSES: funder.address }, async ({ app, node, operator, ingester }) => {
      await donateFrom(node, funder, operator.address, 500n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
      expect(await milestonesOf(app, operator.address)).toEqual([]);
      expect(await donations(app)).toMatchObject({
        totalDonatedBan: '0.00000000',
        totalFundingBan: '500.00000000',
        donationCount: 0,
        donorCount: 0,
        topDonors: [],
        multiplier: '1.00',
        progress: '0.0000',
      });
    });
  });

  it('a settlement pockets receivable sends before it plans, so its budget counts them', async () => {
    await withLive({ PAYOUT_MIN_OPERATOR_BALANCE_BAN: '50' }, async ({ app, node, operator }) => {
      // The operator is not even opened: only the receivable 60 BAN can pay the player's 1 BAN.
      await donateFrom(node, await newBananoAccount(), operator.address, 60n * BAN);
      await earner(app, 10);
      await synced(app);
      const preview = await call(app, 'POST', '/v1/admin/settlements', { preview: true });
      expect(preview.body).toMatchObject({ payoutsRequested: 0, deferredByBudget: 1 });
      expect(await app.store.readStream(operatorStream(operator.address))).toEqual([]);

      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ payoutsRequested: 1, deferredByBudget: 0 });
      expect((await app.store.readStream(operatorStream(operator.address))).map((event) => event.type)).toEqual(['DonationReceived']);
      expect(node.balanceOf(operator.address)).toBe(60n * BAN);
    });
  });

  it('the progress stops at 1 past the goal, and the last tier has no next one', async () => {
    await withLive({ ECONOMICS_DONATION_GOAL_BAN: '50', ECONOMICS_MILESTONES: '0:1.00:Start;10:1.5:Half;40:2:Double' }, async ({ app, node, operator, ingester }) => {
      await donateFrom(node, await newBananoAccount(), operator.address, 60n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
      expect(await donations(app)).toMatchObject({
        goalBan: '50.00000000',
        progress: '1.0000',
        currentMilestone: { name: 'Double', multiplier: '2' },
        nextMilestone: null,
        multiplier: '2',
        effectiveRatePerKillBan: '0.20000000',
      });
    });
  });
});

describe('operatorAddress on GET /v1/donations: where donors send', () => {
  /** GET /v1/donations as the public sends it: no key. */
  async function publicDonations(app: TestApp): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
    const response = await fetch(`${app.baseUrl}/v1/donations`);
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
  }

  /** The answer names nothing of the seed but the address: no seed, no key id, no configured flag. */
  function expectNothingElseOfTheSeed(answer: { body: Record<string, unknown>; text: string }, seed: string | null): void {
    expect(Object.keys(answer.body).filter((key) => /seed|key|configured/i.test(key))).toEqual([]);
    if (seed !== null) {
      expect(answer.text.toUpperCase()).not.toContain(seed.toUpperCase());
      expect(answer.text.toUpperCase()).not.toContain(seed.toUpperCase().slice(0, 16));
    }
  }

  it('is null while no operator seed is configured, and the stored seed\'s address once an admin stores one', async () => {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      const before = await publicDonations(app);
      expect(before.status).toBe(200);
      expect(before.body.operatorAddress).toBeNull();
      expectNothingElseOfTheSeed(before, null);

      const operator = await newBananoAccount();
      const stored = await fetch(`${app.baseUrl}/v1/admin/operator-seed`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ seed: operator.seed.toLowerCase() }),
      });
      expect(stored.status).toBe(204);
      const after = await publicDonations(app);
      expect(after.status).toBe(200);
      expect(after.body.operatorAddress).toBe(operator.address);
      // The same address as the admin status, which knows it the same way.
      expect((await call(app, 'GET', '/v1/admin/operator-seed/status')).body).toMatchObject({ address: operator.address });
      expectNothingElseOfTheSeed(after, operator.seed);
    } finally {
      await app.close();
    }
  });

  it('is the seed file\'s address while secure_config holds no seed (live)', async () => {
    await withLiveApp({}, async ({ app, operator, seedFile }) => {
      const answer = await publicDonations(app);
      expect(answer.status).toBe(200);
      expect(answer.body.operatorAddress).toBe(operator.address);
      expect(answer.text).not.toContain(seedFile);
      expectNothingElseOfTheSeed(answer, null);
    });
  });

  it('is null, and the rest of the summary still answers, when the seed file cannot be read', async () => {
    const missing = join(tmpdir(), `no-such-operator-${process.pid}.seed`);
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', BANANO_OPERATOR_SEED_FILE: missing });
    try {
      const answer = await publicDonations(app);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ operatorAddress: null, totalDonatedBan: '0.00000000', multiplier: '1.00' });
      expect(answer.text).not.toContain(missing);
      // The operator's own route says what is wrong.
      expect((await call(app, 'GET', '/v1/admin/operator-seed/status')).body).toMatchObject({ status: 503, code: 'operator_seed_unreadable' });
    } finally {
      await app.close();
    }
  });
});

describe('the sustainability factor at its bounds (dry-run)', () => {
  /** A player paid `kills` × 0.1 BAN (factor 2.0 while nothing is paid) in one dry-run payout. */
  async function pay(app: TestApp, kills: number): Promise<string> {
    const player = await earner(app, kills);
    await synced(app);
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(run.body).toMatchObject({ payoutsRequested: 1 });
    await synced(app);
    expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
    return player.userId;
  }

  async function factorAfterPaying(env: Record<string, string>, kills: number): Promise<Record<string, unknown>> {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', ...env });
    try {
      const untouched = await call(app, 'GET', '/v1/donations');
      expect(untouched.body).toMatchObject({ sustainabilityFactor: env.ECONOMICS_SUSTAINABILITY === 'false' ? '1.0000' : '2.0000' });
      const userId = await pay(app, kills);
      await synced(app);
      const answer = await call(app, 'GET', '/v1/donations');
      const accrual = (await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: kills + 10 })).body.accrual as Record<string, unknown>;
      expect(accrual.sustainabilityFactor).toBe(answer.body.sustainabilityFactor);
      expect(accrual.ratePerKillRaw).toBe(answer.body.effectiveRatePerKillRaw);
      return answer.body;
    } finally {
      await app.close();
    }
  }

  it('is 2.0 while nothing is paid, and stays clamped at 2.0 when the fund covers far more than was paid', async () => {
    // 1336 BAN of seed fund against 1 BAN paid: 1336, clamped to 2.
    expect(await factorAfterPaying({}, 10)).toMatchObject({ sustainabilityFactor: '2.0000', effectiveRatePerKillBan: '0.10000000' });
  });

  it('is clamped at 0.1 when far more was paid than the fund holds', async () => {
    // 0.05 BAN of seed fund against 10 BAN paid: 0.005, clamped to 0.1; the rate is 0.05 × 0.1.
    expect(await factorAfterPaying({ ECONOMICS_SEED_FUND_BAN: '0.05' }, 100)).toMatchObject({
      sustainabilityFactor: '0.1000',
      effectiveRatePerKillBan: '0.00500000',
    });
  });

  it('is the truncated ratio between the bounds', async () => {
    // 1.5 BAN of seed fund against 2 BAN paid: 0.75.
    expect(await factorAfterPaying({ ECONOMICS_SEED_FUND_BAN: '1.5' }, 20)).toMatchObject({ sustainabilityFactor: '0.7500', effectiveRatePerKillBan: '0.03750000' });
  });

  it('is 1 when the operator switched it off', async () => {
    expect(await factorAfterPaying({ ECONOMICS_SUSTAINABILITY: 'false', ECONOMICS_SEED_FUND_BAN: '0.05' }, 10)).toMatchObject({
      sustainabilityFactor: '1.0000',
      effectiveRatePerKillBan: '0.05000000',
    });
  });
});
