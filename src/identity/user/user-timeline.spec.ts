import { parseBan } from '../../platform/money';
import { type RateFactors } from '../../rewards/economics/rate';
import { decide, type UserCommand } from './user.decider';
import { type Balances, balancesOf, claimedKillsSince, evolveTimeline, initialTimelineState, type TimelineState } from './user-timeline';
import { type UserEvent } from './user.events';

const userId = '1c7c4c0e-0f5e-5d8e-9d1a-1a2b3c4d5e6f';
const address = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
const t0 = new Date('2026-11-22T10:00:00.000Z');
const at = (minutes: number): Date => new Date(t0.getTime() + minutes * 60_000);
const rate: RateFactors = { baseRaw: parseBan('0.05') as bigint, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
/** 0.05 BAN × 2.0: the rate of every accrual here. */
const RATE = parseBan('0.1') as bigint;
const abuse = { killRatePerMinute: 10n, maxKillsPerObservation: 500n };
const policy = { maxAttempts: 1, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

const fold = (events: readonly UserEvent[]): TimelineState => events.reduce(evolveTimeline, initialTimelineState);

/** Decides each command on the state the previous ones produced, through the audit fold; returns every event. */
function history(commands: Array<UserCommand | ((events: UserEvent[]) => UserCommand)>): UserEvent[] {
  const events: UserEvent[] = [];
  for (const command of commands) events.push(...decide(typeof command === 'function' ? command(events) : command, fold(events).user));
  return events;
}

const accrualIds = (events: UserEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'AccrualRecorded' ? [event.data.accrualId] : []));

/** A payout of `kills` from one accrual: the first recorded, unless `accrualOf` picks another. */
const payout = (payoutId: string, kills: bigint, now: Date, accrualOf = (ids: string[]): string | undefined => ids[0]) => (events: UserEvent[]): UserCommand => ({
  type: 'RequestPayout',
  data: {
    payoutId,
    runId: 'run-1',
    gateway: 'dry-run',
    address,
    kills,
    amountRaw: kills * RATE,
    idempotencyKey: `key-${payoutId}`,
    accruals: [{ accrualId: accrualOf(accrualIds(events)) ?? 'none', kills }],
    requireVerifiedWallet: false,
    now,
  },
});

const zero: Balances = {
  accruedKills: 0n,
  accruedRaw: 0n,
  claimedKills: 0n,
  claimedRaw: 0n,
  inFlightKills: 0n,
  inFlightRaw: 0n,
  settledKills: 0n,
  paidRaw: 0n,
  unsettledKills: 0n,
  unsettledRaw: 0n,
};

describe('the audit fold of a user stream (balances after each event)', () => {
  const setUp: UserCommand[] = [
    { type: 'RegisterUser', data: { userId, discordUserId: '123456789012345678', regionCode: 'EU', now: t0 } },
    { type: 'LinkEpicAccount', data: { epicAccountId: '0123456789abcdef0123456789abcdef', baselineKills: 100n, linkedToAnotherUser: false, formerHolderMark: null, rate, now: t0 } },
    { type: 'LinkWallet', data: { address, primaryForAnotherUser: false, now: t0 } },
    { type: 'ObserveKills', data: { lifetimeKills: 130n, observedAt: at(1), now: at(1), rate, abuse } },
  ];

  it('given a registration and an accrual, then the kills and their amount are accrued and unsettled', () => {
    const events = history(setUp);

    expect(balancesOf(fold(events.slice(0, 1)))).toEqual(zero);
    expect(balancesOf(fold(events))).toEqual({ ...zero, accruedKills: 30n, accruedRaw: 30n * RATE, unsettledKills: 30n, unsettledRaw: 30n * RATE });
    expect(fold(events).registeredAt).toBe(t0.toISOString());
  });

  it('given a payout requested, then its kills are claimed and in flight but still unsettled', () => {
    const events = history([...setUp, payout('p1', 20n, at(2))]);

    expect(balancesOf(fold(events))).toEqual({
      ...zero,
      accruedKills: 30n,
      accruedRaw: 30n * RATE,
      claimedKills: 20n,
      claimedRaw: 20n * RATE,
      inFlightKills: 20n,
      inFlightRaw: 20n * RATE,
      unsettledKills: 30n,
      unsettledRaw: 30n * RATE,
    });
  });

  it('given the payout sent, then it is settled and paid, and the last settlement time is its sentAt', () => {
    const events = history([...setUp, payout('p1', 20n, at(2)), { type: 'RecordPayoutSent', data: { payoutId: 'p1', gateway: 'dry-run', blockHash: 'dryrun-p1', now: at(3) } }]);
    const state = fold(events);

    expect(balancesOf(state)).toEqual({
      ...zero,
      accruedKills: 30n,
      accruedRaw: 30n * RATE,
      claimedKills: 20n,
      claimedRaw: 20n * RATE,
      settledKills: 20n,
      paidRaw: 20n * RATE,
      unsettledKills: 10n,
      unsettledRaw: 10n * RATE,
    });
    expect(state.lastSettlementAt).toBe(at(3).toISOString());
  });

  it('given a failed payout, then it keeps its claim; given it cancelled, then the claim is released and nothing was paid', () => {
    const failed = history([
      ...setUp,
      payout('p1', 20n, at(2)),
      { type: 'RecordPayoutAttemptFailed', data: { payoutId: 'p1', attempt: 1, error: 'refused', blockHash: null, policy, now: at(3) } },
    ]);
    const cancelled = [...failed, ...decide({ type: 'CancelPayout', data: { payoutId: 'p1', reason: 'wallet closed', now: at(4) } }, fold(failed).user)];

    expect(failed.at(-1)?.type).toBe('PayoutFailed');
    expect(balancesOf(fold(failed))).toMatchObject({ claimedKills: 20n, inFlightKills: 20n, settledKills: 0n, unsettledKills: 30n });
    expect(balancesOf(fold(cancelled))).toEqual({ ...zero, accruedKills: 30n, accruedRaw: 30n * RATE, unsettledKills: 30n, unsettledRaw: 30n * RATE });
  });

  it('keeps the balances of many payouts, whatever became of each, equal to their sum after every event', () => {
    // Round r: five more kills accrue and a payout claims them; it is sent, or it fails and is
    // retried and sent, or it fails and is cancelled. The last one fails and keeps its claim.
    const outcomes = ['sent', 'retried', 'cancelled', 'sent', 'cancelled', 'retried', 'failed'] as const;
    const commands: Array<UserCommand | ((events: UserEvent[]) => UserCommand)> = [...setUp];
    outcomes.forEach((outcome, index) => {
      const round = index + 1;
      const payoutId = `p${round}`;
      const minute = (step: number): Date => at(10 * round + step);
      const failure: UserCommand = { type: 'RecordPayoutAttemptFailed', data: { payoutId, attempt: 1, error: 'refused', blockHash: null, policy, now: minute(2) } };
      const sent = (step: number): UserCommand => ({ type: 'RecordPayoutSent', data: { payoutId, gateway: 'dry-run', blockHash: `dryrun-${payoutId}`, now: minute(step) } });
      commands.push({ type: 'ObserveKills', data: { lifetimeKills: 130n + 5n * BigInt(round), observedAt: minute(0), now: minute(0), rate, abuse } });
      commands.push(payout(payoutId, 5n, minute(1), (ids) => ids.at(-1)));
      if (outcome === 'sent') commands.push(sent(2));
      if (outcome === 'retried') commands.push(failure, { type: 'RetryPayout', data: { payoutId, now: minute(3) } }, sent(4));
      if (outcome === 'cancelled') commands.push(failure, { type: 'CancelPayout', data: { payoutId, reason: 'wallet closed', now: minute(3) } });
      if (outcome === 'failed') commands.push(failure);
    });
    const events = history(commands);
    /** The payouts' share of the balances, summed over the decider's own payouts. */
    const summed = (state: TimelineState): Partial<Balances> => {
      const payouts = state.user.status === 'registered' ? [...state.user.payouts.values()] : [];
      const sum = (status: string[], of: (payout: (typeof payouts)[number]) => bigint): bigint =>
        payouts.filter((payout) => status.includes(payout.status)).reduce((total, payout) => total + of(payout), 0n);
      return {
        settledKills: sum(['sent'], (payout) => payout.kills),
        paidRaw: sum(['sent'], (payout) => payout.amountRaw),
        inFlightKills: sum(['requested', 'failed'], (payout) => payout.kills),
        inFlightRaw: sum(['requested', 'failed'], (payout) => payout.amountRaw),
      };
    };

    expect(events.filter((event) => event.type === 'PayoutRetryRequested')).toHaveLength(2);
    expect(events.filter((event) => event.type === 'PayoutCancelled')).toHaveLength(2);
    events.forEach((_, index) => {
      const state = fold(events.slice(0, index + 1));
      expect(balancesOf(state)).toMatchObject(summed(state));
    });
    expect(balancesOf(fold(events))).toEqual({
      ...zero,
      accruedKills: 65n,
      accruedRaw: 65n * RATE,
      claimedKills: 25n,
      claimedRaw: 25n * RATE,
      settledKills: 20n,
      paidRaw: 20n * RATE,
      inFlightKills: 5n,
      inFlightRaw: 5n * RATE,
      unsettledKills: 45n,
      unsettledRaw: 45n * RATE,
    });
  });

  it('counts against the caps the kills of live payouts requested since a time, never of cancelled ones', () => {
    const sent = history([...setUp, payout('p1', 20n, at(2)), { type: 'RecordPayoutSent', data: { payoutId: 'p1', gateway: 'dry-run', blockHash: 'dryrun-p1', now: at(3) } }]);
    const state = fold(sent);

    const failed = history([
      ...setUp,
      payout('p1', 20n, at(2)),
      { type: 'RecordPayoutAttemptFailed', data: { payoutId: 'p1', attempt: 1, error: 'refused', blockHash: null, policy, now: at(3) } },
    ]);
    const cancelled = [...failed, ...decide({ type: 'CancelPayout', data: { payoutId: 'p1', reason: 'wallet closed', now: at(4) } }, fold(failed).user)];

    expect(claimedKillsSince(state, at(2))).toBe(20n);
    expect(claimedKillsSince(state, at(3))).toBe(0n);
    expect(claimedKillsSince(fold(failed), at(0))).toBe(20n);
    expect(claimedKillsSince(fold(cancelled), at(0))).toBe(0n);
  });
});
