import { createHash } from 'node:crypto';

/**
 * The settlement rules of SPEC §4.3 as one pure function: who is paid in this run, how many
 * kills each payout covers, which accruals (and how much of a split one), the exact amount and
 * the idempotency key. It reads nothing and writes nothing; the settlement handler gathers the
 * facts, and the same plan is the answer of a preview run.
 */

export interface UnsettledAccrual {
  readonly accrualId: string;
  readonly epochMinute: number;
  /** Kills of this accrual no live payout has claimed yet. */
  readonly unclaimedKills: bigint;
  /** Kills of this accrual already claimed by live payouts (the head of a split accrual). */
  readonly claimedKills: bigint;
  readonly ratePerKillRaw: bigint;
}

export interface EligibleUser {
  readonly userId: string;
  readonly address: string;
  /** Oldest first is not assumed: the planner sorts by epoch minute. */
  readonly accruals: readonly UnsettledAccrual[];
  /** Kills claimed by this user's live payouts requested in the current UTC day / ISO week. */
  readonly claimedToday: bigint;
  readonly claimedThisWeek: bigint;
}

export interface SettlementLimits {
  readonly dailyKillCap: bigint;
  readonly weeklyKillCap: bigint;
  /** Users taken in one run after the shuffle; 0 takes them all. */
  readonly batchSize: number;
  /** Confirmed operator balance minus the floor; nothing is requested beyond it. */
  readonly spendableRaw: bigint;
}

export interface CoveredAccrual {
  readonly accrualId: string;
  readonly kills: bigint;
}

export interface PlannedPayout {
  readonly userId: string;
  readonly address: string;
  readonly kills: bigint;
  readonly amountRaw: bigint;
  readonly accruals: readonly CoveredAccrual[];
  readonly idempotencyKey: string;
}

export interface SettlementPlan {
  readonly payouts: readonly PlannedPayout[];
  readonly eligible: number;
  readonly killsRequested: bigint;
  readonly amountRequestedRaw: bigint;
  /** Users taken this run whose caps left nothing to pay. */
  readonly deferredByCaps: number;
  /** Users taken this run whose payout did not fit the operator budget. */
  readonly deferredByBudget: number;
  /** Users the batch size left for a later run. */
  readonly rolledOver: number;
}

export function planSettlement(users: readonly EligibleUser[], limits: SettlementLimits, seed: string): SettlementPlan {
  if (!Number.isInteger(limits.batchSize) || limits.batchSize < 0) throw new Error('batchSize must be a non-negative integer');
  // Sorting first makes the shuffle depend on the seed alone, not on the order the facts came in.
  const shuffled = seededShuffle(
    [...users].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)),
    seed,
  );
  const taken = limits.batchSize === 0 ? shuffled : shuffled.slice(0, limits.batchSize);
  const payouts: PlannedPayout[] = [];
  let budgetLeft = limits.spendableRaw;
  let deferredByCaps = 0;
  let deferredByBudget = 0;
  let budgetExhausted = false;
  for (const user of taken) {
    const payout = payoutFor(user, limits);
    if (payout === null) {
      deferredByCaps += 1;
      continue;
    }
    // Payouts are requested in the shuffled order while they fit; from the first that does not,
    // everyone rolls over, so a small debt never jumps the queue ahead of a larger one.
    if (budgetExhausted || payout.amountRaw > budgetLeft) {
      budgetExhausted = true;
      deferredByBudget += 1;
      continue;
    }
    budgetLeft -= payout.amountRaw;
    payouts.push(payout);
  }
  return {
    payouts,
    eligible: users.length,
    killsRequested: payouts.reduce((sum, payout) => sum + payout.kills, 0n),
    amountRequestedRaw: payouts.reduce((sum, payout) => sum + payout.amountRaw, 0n),
    deferredByCaps,
    deferredByBudget,
    rolledOver: shuffled.length - taken.length,
  };
}

/**
 * k = min(unsettled, daily remaining, weekly remaining); accruals oldest first, the last split.
 * Kills accrued at a rate of 0 (the rate floors to 0 at 8 decimals when the base per kill is tiny
 * and the factors are below 1) are worth nothing: no payout claims them, so they count against no
 * cap, and a payout is never of 0 raw, which no chain would take.
 */
function payoutFor(user: EligibleUser, limits: SettlementLimits): PlannedPayout | null {
  const accruals = [...user.accruals]
    .filter((accrual) => accrual.unclaimedKills > 0n && accrual.ratePerKillRaw > 0n)
    .sort((a, b) => a.epochMinute - b.epochMinute || (a.accrualId < b.accrualId ? -1 : 1));
  const unsettled = accruals.reduce((sum, accrual) => sum + accrual.unclaimedKills, 0n);
  const dailyLeft = nonNegative(limits.dailyKillCap - user.claimedToday);
  const weeklyLeft = nonNegative(limits.weeklyKillCap - user.claimedThisWeek);
  const payable = min(unsettled, min(dailyLeft, weeklyLeft));
  if (payable === 0n) return null;
  const covered: CoveredAccrual[] = [];
  const keyParts: string[] = [];
  let kills = 0n;
  let amountRaw = 0n;
  for (const accrual of accruals) {
    if (kills === payable) break;
    const take = min(accrual.unclaimedKills, payable - kills);
    covered.push({ accrualId: accrual.accrualId, kills: take });
    kills += take;
    amountRaw += take * accrual.ratePerKillRaw;
    const whole = accrual.claimedKills === 0n && take === accrual.unclaimedKills;
    keyParts.push(whole ? accrual.accrualId : `${accrual.accrualId}:${(accrual.claimedKills + take).toString()}`);
  }
  return { userId: user.userId, address: user.address, kills, amountRaw, accruals: covered, idempotencyKey: idempotencyKey(keyParts) };
}

/**
 * SHA-256 hex of the covered accrual ids, sorted ascending and joined by `,` (SPEC §4.3). An
 * accrual a payout covers whole is written `id`; part of a split one `id:j`, where j counts the
 * accrual's kills claimed up to the end of this payout, so its later parts get keys of their own.
 * Kills given back by a cancelled payout are claimed again under the same key as before: a
 * cancelled payout is not live, and only live payouts may not share a key.
 */
export function idempotencyKey(parts: readonly string[]): string {
  return createHash('sha256').update([...parts].sort().join(',')).digest('hex');
}

/** Fisher–Yates driven by SHA-256 of (seed, counter): the same seed always gives the same order. */
export function seededShuffle<T>(items: readonly T[], seed: string): T[] {
  const result = [...items];
  let counter = 0;
  const nextUint32 = (): number => {
    const digest = createHash('sha256').update(`${seed}:${counter}`).digest();
    counter += 1;
    return digest.readUInt32BE(0);
  };
  for (let index = result.length - 1; index > 0; index -= 1) {
    // Rejection sampling keeps every position equally likely (no modulo bias).
    const range = index + 1;
    const limit = Math.floor(0x1_0000_0000 / range) * range;
    let draw = nextUint32();
    while (draw >= limit) draw = nextUint32();
    const swap = draw % range;
    [result[index], result[swap]] = [result[swap], result[index]];
  }
  return result;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function nonNegative(value: bigint): bigint {
  return value < 0n ? 0n : value;
}
