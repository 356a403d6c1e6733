import { createHash } from 'node:crypto';
import { type EligibleUser, idempotencyKey, planSettlement, seededShuffle, type SettlementLimits, type UnsettledAccrual } from './settlement-plan';

const RAW_PER_BAN = 10n ** 29n;
const tenth = RAW_PER_BAN / 10n;
const limits: SettlementLimits = { dailyKillCap: 150n, weeklyKillCap: 750n, batchSize: 0, spendableRaw: 1_000_000n * RAW_PER_BAN };

const accrual = (id: string, epochMinute: number, kills: bigint, ratePerKillRaw = tenth, claimedKills = 0n): UnsettledAccrual => ({
  accrualId: id,
  epochMinute,
  unclaimedKills: kills,
  claimedKills,
  ratePerKillRaw,
});

const user = (userId: string, accruals: UnsettledAccrual[], claimedToday = 0n, claimedThisWeek = claimedToday): EligibleUser => ({
  userId,
  address: `ban_${userId}`,
  accruals,
  claimedToday,
  claimedThisWeek,
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('settlement plan', () => {
  it('pays all unsettled kills at their own rates when the caps allow, keyed by the sorted accrual ids', () => {
    const plan = planSettlement([user('u1', [accrual('b-acc', 2, 10n, 2n * tenth), accrual('a-acc', 1, 5n)])], limits, 'seed');

    expect(plan.payouts).toEqual([
      {
        userId: 'u1',
        address: 'ban_u1',
        kills: 15n,
        amountRaw: 5n * tenth + 10n * 2n * tenth,
        accruals: [
          { accrualId: 'a-acc', kills: 5n },
          { accrualId: 'b-acc', kills: 10n },
        ],
        idempotencyKey: sha256('a-acc,b-acc'),
      },
    ]);
    expect(plan).toMatchObject({ eligible: 1, killsRequested: 15n, amountRequestedRaw: 25n * tenth, deferredByCaps: 0, deferredByBudget: 0 });
  });

  it('pays exactly 25 kills of a 60-kill debt under a 25-kill daily cap, oldest first, splitting the last accrual', () => {
    const accruals = [accrual('acc-1', 1, 20n, tenth), accrual('acc-2', 2, 30n, 3n * tenth), accrual('acc-3', 3, 10n, tenth)];
    const plan = planSettlement([user('u1', accruals)], { ...limits, dailyKillCap: 25n }, 'seed');

    const [payout] = plan.payouts;
    expect(payout.kills).toBe(25n);
    expect(payout.accruals).toEqual([
      { accrualId: 'acc-1', kills: 20n },
      { accrualId: 'acc-2', kills: 5n },
    ]);
    // 20 × 0.1 + 5 × 0.3 = 3.5 BAN; the other 35 kills stay owed.
    expect(payout.amountRaw).toBe(35n * tenth);
    expect(payout.idempotencyKey).toBe(sha256('acc-1,acc-2:5'));
  });

  it('gives the rest of a split accrual a key of its own', () => {
    // acc-2 had 5 of its 30 kills claimed by an earlier payout: 25 remain.
    const plan = planSettlement([user('u1', [accrual('acc-2', 2, 25n, 3n * tenth, 5n)])], { ...limits, dailyKillCap: 10n }, 'seed');
    const rest = planSettlement([user('u1', [accrual('acc-2', 2, 15n, 3n * tenth, 15n)])], limits, 'seed');

    expect(plan.payouts[0]).toMatchObject({ kills: 10n, idempotencyKey: sha256('acc-2:15') });
    expect(rest.payouts[0]).toMatchObject({ kills: 15n, idempotencyKey: sha256('acc-2:30') });
  });

  it('pays the rest of a split accrual later at its own rate, not at the rate of the accrual after it', () => {
    // acc-2 (30 kills at 0.3) was split 10/20 by a 10-kill cap; acc-3 (10 kills at 0.1) came after.
    const first = planSettlement([user('u1', [accrual('acc-2', 2, 30n, 3n * tenth), accrual('acc-3', 3, 10n, tenth)])], { ...limits, dailyKillCap: 10n }, 'seed');
    const later = planSettlement(
      [user('u1', [accrual('acc-3', 3, 10n, tenth), accrual('acc-2', 2, 20n, 3n * tenth, 10n)], 10n)],
      { ...limits, dailyKillCap: 35n },
      'seed',
    );

    expect(first.payouts[0]).toMatchObject({ kills: 10n, amountRaw: 30n * tenth, accruals: [{ accrualId: 'acc-2', kills: 10n }], idempotencyKey: sha256('acc-2:10') });
    // 25 more kills today: the 20 left of acc-2 at 0.3, then 5 of acc-3 at 0.1 = 6.5 BAN.
    expect(later.payouts[0]).toMatchObject({
      kills: 25n,
      amountRaw: 20n * 3n * tenth + 5n * tenth,
      accruals: [
        { accrualId: 'acc-2', kills: 20n },
        { accrualId: 'acc-3', kills: 5n },
      ],
      idempotencyKey: sha256('acc-2:30,acc-3:5'),
    });
  });

  it('takes the smallest of the unsettled kills, the day left and the week left', () => {
    const debt = (claimedToday: bigint, claimedThisWeek: bigint) => user('u1', [accrual('acc-1', 1, 100n)], claimedToday, claimedThisWeek);
    const kills = (u: EligibleUser, caps: Partial<SettlementLimits> = {}) => planSettlement([u], { ...limits, ...caps }, 'seed').payouts[0]?.kills ?? 0n;

    expect(kills(debt(0n, 0n), { dailyKillCap: 150n, weeklyKillCap: 750n })).toBe(100n);
    expect(kills(debt(60n, 60n), { dailyKillCap: 150n, weeklyKillCap: 750n })).toBe(90n);
    expect(kills(debt(0n, 700n), { dailyKillCap: 150n, weeklyKillCap: 750n })).toBe(50n);
    expect(kills(debt(150n, 150n))).toBe(0n);
    // A cap lowered below what was claimed already leaves nothing, never a negative take.
    expect(kills(debt(40n, 40n), { dailyKillCap: 30n })).toBe(0n);
  });

  it('claims kills a cancelled payout gave back under the key it had, the covered ids alone (a cancelled payout is not live)', () => {
    // Before the cancel, acc-3's 20 kills were claimed whole, or 5 of them by an earlier sent payout
    // and 15 by the cancelled one; the cancel gave those back, so the plan sees the same as before.
    const whole = planSettlement([user('u1', [accrual('acc-3', 3, 20n, tenth)])], limits, 'seed').payouts[0];
    const split = planSettlement([user('u1', [accrual('acc-3', 3, 15n, tenth, 5n)])], limits, 'seed').payouts[0];

    expect(whole.idempotencyKey).toBe(sha256('acc-3'));
    expect(split.idempotencyKey).toBe(sha256('acc-3:20'));
  });

  it('never claims kills accrued at a rate of 0: they are worth nothing, and a payout of 0 raw cannot be sent', () => {
    const worthless = user('u1', [accrual('zero', 1, 10n, 0n)]);
    const mixed = user('u2', [accrual('zero-older', 1, 10n, 0n), accrual('paid', 2, 10n)]);

    const plan = planSettlement([worthless, mixed], { ...limits, dailyKillCap: 10n }, 'seed');

    // Under a 10-kill cap the older worthless kills take none of it.
    expect(plan.payouts).toEqual([expect.objectContaining({ userId: 'u2', kills: 10n, amountRaw: 10n * tenth, accruals: [{ accrualId: 'paid', kills: 10n }] })]);
    expect(plan).toMatchObject({ killsRequested: 10n, amountRequestedRaw: 10n * tenth });
  });

  it('counts kills already claimed today and this week against the caps', () => {
    const plan = planSettlement(
      [user('daily', [accrual('d', 1, 100n)], 140n, 140n), user('weekly', [accrual('w', 1, 100n)], 0n, 745n), user('none', [accrual('n', 1, 100n)], 150n, 150n)],
      limits,
      'seed',
    );
    const byUser = Object.fromEntries(plan.payouts.map((payout) => [payout.userId, payout.kills]));

    expect(byUser).toEqual({ daily: 10n, weekly: 5n });
    expect(plan.deferredByCaps).toBe(1);
  });

  it('requests payouts in the shuffled order while they fit the budget, and rolls the rest over', () => {
    const users = ['a', 'b', 'c', 'd'].map((id) => user(id, [accrual(`${id}-acc`, 1, 10n)]));
    const order = seededShuffle([...users].sort((x, y) => (x.userId < y.userId ? -1 : 1)), 'budget-seed').map((u) => u.userId);

    const plan = planSettlement(users, { ...limits, spendableRaw: 25n * tenth }, 'budget-seed');

    // Each payout is 1 BAN; 2.5 BAN of budget fits the first two of the shuffled order.
    expect(plan.payouts.map((payout) => payout.userId)).toEqual(order.slice(0, 2));
    expect(plan.deferredByBudget).toBe(2);
    expect(plan.amountRequestedRaw).toBe(20n * tenth);
  });

  it('stops at the first payout that does not fit, even if a later smaller one would', () => {
    const users = [user('big', [accrual('big-acc', 1, 100n)]), user('small', [accrual('small-acc', 1, 1n)])];
    const seed = ['s0', 's1', 's2', 's3', 's4', 's5'].find((candidate) => seededShuffle([...users], candidate)[0].userId === 'big') as string;

    const plan = planSettlement(users, { ...limits, spendableRaw: 50n * tenth }, seed);

    expect(plan.payouts).toEqual([]);
    expect(plan.deferredByBudget).toBe(2);
  });

  it('takes batchSize users after the shuffle and rolls the others over', () => {
    const users = Array.from({ length: 10 }, (_, n) => user(`u${n}`, [accrual(`acc-${n}`, 1, 1n)]));
    const plan = planSettlement(users, { ...limits, batchSize: 3 }, 'seed');
    expect(plan.payouts).toHaveLength(3);
    expect(plan.rolledOver).toBe(7);
    expect(plan.eligible).toBe(10);
  });

  it('is decided by the seed alone: the same seed gives the same plan whatever the input order', () => {
    const users = Array.from({ length: 20 }, (_, n) => user(`u${n}`, [accrual(`acc-${n}`, 1, 1n)]));
    const one = planSettlement(users, { ...limits, batchSize: 5 }, 'seed-x');
    const two = planSettlement([...users].reverse(), { ...limits, batchSize: 5 }, 'seed-x');
    const other = planSettlement(users, { ...limits, batchSize: 5 }, 'seed-y');
    expect(two.payouts).toEqual(one.payouts);
    expect(other.payouts.map((payout) => payout.userId)).not.toEqual(one.payouts.map((payout) => payout.userId));
  });

  it('shuffles every user into every position over many seeds (no bias towards the input order)', () => {
    const items = ['a', 'b', 'c', 'd'];
    const firsts = new Map<string, number>();
    for (let n = 0; n < 4_000; n += 1) {
      const first = seededShuffle(items, `seed-${n}`)[0];
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    for (const item of items) expect(firsts.get(item)).toBeGreaterThan(850);
  });

  it('sorts the key parts, so the key does not depend on the order of the accruals', () => {
    expect(idempotencyKey(['b', 'a:3'])).toBe(idempotencyKey(['a:3', 'b']));
    expect(idempotencyKey(['b', 'a:3'])).toBe(sha256('a:3,b'));
  });
});
