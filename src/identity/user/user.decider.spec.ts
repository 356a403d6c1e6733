import { DomainError } from '../../platform/errors/domain-error';
import { parseBan } from '../../platform/money';
import { type RateFactors } from '../../rewards/economics/rate';
import { accrualIdFor, decide, type EpicAccountMark, evolve, initialState, type UserCommand, type UserState } from './user.decider';
import { type UserEvent } from './user.events';

const userId = '1c7c4c0e-0f5e-5d8e-9d1a-1a2b3c4d5e6f';
const epicId = '0123456789abcdef0123456789abcdef';
const otherEpicId = 'fedcba9876543210fedcba9876543210';
const address = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
const t0 = new Date('2026-11-22T10:00:00.000Z');
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);
const minuteOf = (date: Date): number => Math.floor(date.getTime() / 60_000);

const rate: RateFactors = { baseRaw: parseBan('0.05') as bigint, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
const abuse = { killRatePerMinute: 10n, maxKillsPerObservation: 500n };
/** Intervals of observed kills a user's state holds at most: one a minute of the 15-minute window, and one reaching into it. */
const SPIKE_INTERVALS_MAX = 17;

const given = (events: UserEvent[]): UserState => events.reduce(evolve, initialState);

/** Decides each command on the state the previous ones produced; returns every event. */
function history(commands: UserCommand[]): UserEvent[] {
  const events: UserEvent[] = [];
  for (const command of commands) events.push(...decide(command, given(events)));
  return events;
}

function rejection(command: UserCommand, state: UserState): DomainError {
  try {
    decide(command, state);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`${command.type} was expected to be rejected`);
}

const register = (regionCode: string | null = 'EU', now = t0): UserCommand => ({
  type: 'RegisterUser',
  data: { userId, discordUserId: '123456789012345678', regionCode, now },
});
const linkEpic = (baselineKills: bigint, epicAccountId = epicId, linkedToAnotherUser = false, now = t0, formerHolderMark: EpicAccountMark | null = null): UserCommand => ({
  type: 'LinkEpicAccount',
  data: { epicAccountId, baselineKills, linkedToAnotherUser, formerHolderMark, rate, now },
});
const observe = (lifetimeKills: bigint, observedAt: Date, now = observedAt, limits = abuse): UserCommand => ({
  type: 'ObserveKills',
  data: { lifetimeKills, observedAt, now, rate, abuse: limits },
});
const linkWallet = (walletAddress = address, primaryForAnotherUser = false): UserCommand => ({
  type: 'LinkWallet',
  data: { address: walletAddress, primaryForAnotherUser, now: t0 },
});

const ofType = <T extends UserEvent['type']>(events: UserEvent[], type: T): Array<Extract<UserEvent, { type: T }>> =>
  events.filter((event): event is Extract<UserEvent, { type: T }> => event.type === type);

/** The request of a 25-kill payout over a user's first two accruals (20 + 5 kills). */
const payoutRequest = (events: UserEvent[], overrides: Partial<Extract<UserCommand, { type: 'RequestPayout' }>['data']> = {}): UserCommand => {
  const [first, second] = ofType(events, 'AccrualRecorded').map((accrual) => accrual.data.accrualId);
  return {
    type: 'RequestPayout',
    data: {
      payoutId: '5d2c1f3e-1111-4aaa-8bbb-000000000001',
      runId: '5d2c1f3e-2222-4aaa-8bbb-000000000002',
      gateway: 'dry-run',
      address,
      kills: 25n,
      amountRaw: 25n * 10n ** 28n,
      idempotencyKey: 'key-1',
      accruals: [
        { accrualId: first, kills: 20n },
        { accrualId: second, kills: 5n },
      ],
      requireVerifiedWallet: false,
      now: at(120),
      ...overrides,
    },
  };
};

describe('user decider', () => {
  describe('registration', () => {
    it('registers a new user with the Discord id, region and time of the command', () => {
      expect(decide(register(), given([]))).toEqual([
        {
          type: 'UserRegistered',
          data: { userId, discordUserId: '123456789012345678', regionCode: 'EU', registeredAt: '2026-11-22T10:00:00.000Z' },
        },
      ]);
    });

    it('records a missing region as null', () => {
      const [event] = ofType(decide(register(null), given([])), 'UserRegistered');
      expect(event.data.regionCode).toBeNull();
    });

    it('decides nothing when the user is already registered, whatever the region asked', () => {
      const events = history([register()]);
      expect(decide(register(), given(events))).toEqual([]);
      expect(decide(register('NAE'), given(events))).toEqual([]);
    });

    it('refuses every other command for a user nobody registered', () => {
      expect(rejection(linkEpic(100n), given([]))).toMatchObject({ code: 'user_not_found', status: 404 });
      expect(rejection(observe(5n, t0), given([]))).toMatchObject({ code: 'user_not_found' });
    });
  });

  describe('Epic account link', () => {
    it('links with a baseline and records an ok verification from the integration', () => {
      const events = decide(linkEpic(100n), given(history([register()])));
      expect(events).toEqual([
        { type: 'EpicAccountLinked', data: { userId, epicAccountId: epicId, baselineKills: 100, source: 'integration', linkedAt: t0.toISOString() } },
        {
          type: 'VerificationRecorded',
          data: { userId, source: 'integration', status: 'ok', epicAccountId: epicId, detail: null, verifiedAt: t0.toISOString() },
        },
      ]);
    });

    it('decides nothing when the same Epic id is linked again, whatever the baseline', () => {
      expect(decide(linkEpic(999n), given(history([register(), linkEpic(100n)])))).toEqual([]);
    });

    it('records an ok verification when the same Epic id is linked again after Yunite said otherwise, and links nothing', () => {
      const notLinked: UserCommand = { type: 'RecordVerification', data: { finding: { kind: 'not_linked' }, rate, now: at(30) } };
      const events = decide(linkEpic(999n, epicId, false, at(60)), given(history([register(), linkEpic(100n), notLinked])));
      expect(events).toEqual([
        {
          type: 'VerificationRecorded',
          data: { userId, source: 'integration', status: 'ok', epicAccountId: epicId, detail: null, verifiedAt: at(60).toISOString() },
        },
      ]);
      expect(given(history([register(), linkEpic(100n), notLinked, linkEpic(999n, epicId, false, at(60))]))).toMatchObject({
        verification: 'ok',
        accruedHighWater: 100n,
      });
    });

    it('gives a changed Epic id a new baseline, from which new kills count', () => {
      const events = history([register(), linkEpic(100n), linkEpic(40n, otherEpicId), observe(50n, at(60))]);
      const [accrual] = ofType(events, 'AccrualRecorded');
      expect(accrual.data).toMatchObject({ kills: 10, fromKillCount: 40, toKillCount: 50 });
    });

    it('links an account again from no lower than it accrued before, whatever the baseline states', () => {
      // 30 kills accrued of the first account (100 → 130), then another account, then the first
      // again with a stale count: its kills up to 130 never accrue twice, and those past it do.
      const events = history([register(), linkEpic(100n), observe(130n, at(60)), linkEpic(5n, otherEpicId), linkEpic(100n), observe(140n, at(120))]);
      expect(ofType(events, 'EpicAccountLinked').map((event) => event.data.baselineKills)).toEqual([100, 5, 130]);
      expect(ofType(events, 'AccrualRecorded').map((event) => event.data)).toMatchObject([
        { kills: 30, fromKillCount: 100, toKillCount: 130 },
        { kills: 10, fromKillCount: 130, toKillCount: 140 },
      ]);
    });

    it('takes a higher baseline when an account is linked again: kills made while another was linked are not paid', () => {
      const events = history([register(), linkEpic(100n), observe(130n, at(60)), linkEpic(5n, otherEpicId), linkEpic(150n), observe(155n, at(120))]);
      expect(ofType(events, 'EpicAccountLinked').map((event) => event.data.baselineKills)).toEqual([100, 5, 150]);
      expect(ofType(events, 'AccrualRecorded').map((event) => event.data.kills)).toEqual([30, 5]);
    });

    describe('an account another user held before (its mark: that user accrued it up to 130)', () => {
      const formerHolder = '5b1d7f3e-2c4a-5e6f-8a9b-0c1d2e3f4a5b';
      const mark: EpicAccountMark = { userId: formerHolder, killCount: 130n };

      it('is linked from the mark when the count read is lower, and the event names that user', () => {
        const events = history([register(), linkEpic(100n, epicId, false, t0, mark), observe(140n, at(60))]);
        expect(ofType(events, 'EpicAccountLinked')[0].data).toEqual({
          userId,
          epicAccountId: epicId,
          baselineKills: 130,
          source: 'integration',
          linkedAt: t0.toISOString(),
          baselineFloor: { userId: formerHolder, killCount: 130 },
        });
        expect(ofType(events, 'AccrualRecorded').map((event) => event.data)).toMatchObject([{ kills: 10, fromKillCount: 130, toKillCount: 140 }]);
      });

      it('is linked from the count read when it is higher, with no floor named', () => {
        const [linked] = ofType(history([register(), linkEpic(150n, epicId, false, t0, mark)]), 'EpicAccountLinked');
        expect(linked.data.baselineKills).toBe(150);
        expect(linked.data).not.toHaveProperty('baselineFloor');
      });

      it('names no floor when the user\'s own earlier link of the account sets the baseline', () => {
        const events = history([register(), linkEpic(100n), observe(140n, at(60)), linkEpic(5n, otherEpicId), linkEpic(100n, epicId, false, t0, mark)]);
        const relinked = ofType(events, 'EpicAccountLinked').at(-1);
        expect(relinked?.data.baselineKills).toBe(140);
        expect(relinked?.data).not.toHaveProperty('baselineFloor');
      });
    });

    describe('kills of the old account that a same-minute observation deferred', () => {
      // 10 kills accrue in minute 10:00; 20 more, observed in that minute, wait for a later one.
      const deferred = [register(), linkEpic(100n), observe(110n, at(1)), observe(130n, at(20))];

      it('accrue before the link, in the next minute when the link comes in the same one, at the rate in force', () => {
        const events = history([...deferred, linkEpic(0n, otherEpicId, false, at(30)), observe(0n, at(90)), observe(5n, at(150))]);
        const accruals = ofType(events, 'AccrualRecorded').map((event) => event.data);
        expect(accruals).toMatchObject([
          { kills: 10, fromKillCount: 100, toKillCount: 110, epochMinute: minuteOf(at(1)) },
          { kills: 20, fromKillCount: 110, toKillCount: 130, epochMinute: minuteOf(at(1)) + 1, ratePerKillRaw: (10n ** 28n).toString(), recordedAt: at(30).toISOString() },
          { kills: 5, fromKillCount: 0, toKillCount: 5, epochMinute: minuteOf(at(150)) },
        ]);
        // The link's accrual comes first: then the new account's baseline.
        expect(events.slice(-6, -2).map((event) => event.type)).toEqual(['AccrualRecorded', 'EpicAccountLinked', 'VerificationRecorded', 'KillsObserved']);
        expect(new Set(accruals.map((accrual) => accrual.accrualId)).size).toBe(3);
      });

      it('leave the new account’s kills of the same minute waiting: no two accruals share a minute', () => {
        const events = history([...deferred, linkEpic(0n, otherEpicId, false, at(30)), observe(4n, at(50)), observe(6n, at(125))]);
        const accruals = ofType(events, 'AccrualRecorded').map((event) => event.data);
        expect(accruals.map((accrual) => [accrual.kills, accrual.epochMinute - minuteOf(t0)])).toEqual([
          [10, 0],
          [20, 1],
          [6, 2],
        ]);
      });

      it('accrue even when a stale lower count of the old account came between', () => {
        // 50 is below the 130 observed: stale (kills_decreased), and it says nothing of the 20 waiting.
        const events = history([...deferred, observe(50n, at(40)), linkEpic(0n, otherEpicId, false, at(200))]);
        expect(ofType(events, 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kills_decreased']);
        expect(ofType(events, 'AccrualRecorded').map((event) => [event.data.kills, event.data.toKillCount])).toEqual([
          [10, 110],
          [20, 130],
        ]);
      });

      it('accrue in the minute of a link that comes later', () => {
        const events = history([...deferred, linkEpic(0n, otherEpicId, false, at(200))]);
        expect(ofType(events, 'AccrualRecorded').at(-1)?.data).toMatchObject({ kills: 20, toKillCount: 130, epochMinute: minuteOf(at(200)) });
      });

      it('accrue before a change Yunite finds, too', () => {
        const finding = { kind: 'linked' as const, epicAccountId: otherEpicId, baseline: { kills: 7n }, linkedToAnotherUser: false, formerHolderMark: null };
        const events = decide({ type: 'RecordVerification', data: { finding, rate, now: at(40) } }, given(history(deferred)));
        expect(events.map((event) => event.type)).toEqual(['AccrualRecorded', 'VerificationRecorded', 'EpicAccountLinked']);
        expect(ofType(events, 'AccrualRecorded')[0].data).toMatchObject({ kills: 20, fromKillCount: 110, toKillCount: 130 });
      });

      it('are not accrued twice when the old account is linked again', () => {
        const events = history([...deferred, linkEpic(0n, otherEpicId, false, at(30)), linkEpic(0n, epicId, false, at(100)), observe(135n, at(200))]);
        expect(ofType(events, 'AccrualRecorded').map((event) => event.data.kills)).toEqual([10, 20, 5]);
      });

      it('leave nothing to accrue when none wait: a link after every observed kill accrued adds no accrual', () => {
        const events = history([register(), linkEpic(100n), observe(110n, at(1)), linkEpic(0n, otherEpicId, false, at(30)), linkEpic(3n, 'c'.repeat(32), false, at(40))]);
        expect(ofType(events, 'AccrualRecorded').map((event) => event.data.kills)).toEqual([10]);
      });
    });

    it('refuses an Epic id linked to another user with 409 epic_account_already_linked', () => {
      expect(rejection(linkEpic(100n, epicId, true), given(history([register()])))).toMatchObject({
        code: 'epic_account_already_linked',
        status: 409,
      });
    });
  });

  describe('Yunite verification', () => {
    const verify = (finding: Extract<UserCommand, { type: 'RecordVerification' }>['data']['finding']): UserCommand => ({
      type: 'RecordVerification',
      data: { finding, rate, now: t0 },
    });
    const linked = (epicAccountId: string, baseline: { kills: bigint } | { error: string } | null, linkedToAnotherUser = false, formerHolderMark: EpicAccountMark | null = null) =>
      verify({ kind: 'linked', epicAccountId, baseline, linkedToAnotherUser, formerHolderMark });

    it('links a new account from no lower than the mark a former holder left of it', () => {
      const mark: EpicAccountMark = { userId: '5b1d7f3e-2c4a-5e6f-8a9b-0c1d2e3f4a5b', killCount: 90n };
      const events = decide(linked(epicId, { kills: 70n }, false, mark), given(history([register()])));
      expect(ofType(events, 'EpicAccountLinked')[0].data).toMatchObject({ baselineKills: 90, source: 'yunite', baselineFloor: { killCount: 90 } });
    });

    it('records no_epic_link when Yunite knows no Epic account for the Discord user', () => {
      const events = decide(verify({ kind: 'not_linked' }), given(history([register()])));
      expect(events).toEqual([
        { type: 'VerificationRecorded', data: { userId, source: 'yunite', status: 'no_epic_link', epicAccountId: null, detail: null, verifiedAt: t0.toISOString() } },
      ]);
    });

    it('links a first Epic account with its baseline and records ok', () => {
      const events = decide(linked(epicId, { kills: 70n }), given(history([register()])));
      expect(events.map((event) => event.type)).toEqual(['VerificationRecorded', 'EpicAccountLinked']);
      expect(ofType(events, 'VerificationRecorded')[0].data.status).toBe('ok');
      expect(ofType(events, 'EpicAccountLinked')[0].data).toMatchObject({ baselineKills: 70, source: 'yunite' });
    });

    it('records ok and links nothing when the Epic account is the one already linked', () => {
      const events = decide(linked(epicId, null), given(history([register(), linkEpic(100n)])));
      expect(events.map((event) => event.type)).toEqual(['VerificationRecorded']);
      expect(ofType(events, 'VerificationRecorded')[0].data.status).toBe('ok');
    });

    it('records epic_changed and links the new account with a new baseline', () => {
      const events = decide(linked(otherEpicId, { kills: 5n }), given(history([register(), linkEpic(100n)])));
      expect(ofType(events, 'VerificationRecorded')[0].data).toMatchObject({ status: 'epic_changed', epicAccountId: otherEpicId });
      expect(ofType(events, 'EpicAccountLinked')[0].data).toMatchObject({ epicAccountId: otherEpicId, baselineKills: 5 });
    });

    it('links an account it finds again from no lower than the user accrued of it before', () => {
      const before = history([register(), linkEpic(100n), observe(130n, at(60)), linkEpic(5n, otherEpicId)]);
      const events = decide(linked(epicId, { kills: 120n }), given(before));
      expect(ofType(events, 'EpicAccountLinked')[0].data).toMatchObject({ epicAccountId: epicId, baselineKills: 130, source: 'yunite' });
    });

    it('records error and links nothing when the new account’s baseline cannot be read', () => {
      const state = given(history([register()]));
      const events = decide(linked(epicId, { error: 'stats_unavailable' }), state);
      expect(events).toEqual([
        {
          type: 'VerificationRecorded',
          data: { userId, source: 'yunite', status: 'error', epicAccountId: epicId, detail: 'stats_unavailable', verifiedAt: t0.toISOString() },
        },
      ]);
      expect(given([...history([register()]), ...events])).toMatchObject({ epic: null, verification: 'error' });
    });

    it('records error when the Epic account is linked to another user', () => {
      const events = decide(linked(epicId, { kills: 1n }, true), given(history([register()])));
      expect(events.map((event) => event.type)).toEqual(['VerificationRecorded']);
      expect(ofType(events, 'VerificationRecorded')[0].data).toMatchObject({ status: 'error', detail: 'epic_account_already_linked' });
    });
  });

  describe('kills and accruals', () => {
    const linkedUser = (): UserEvent[] => history([register(), linkEpic(100n)]);

    it('accrues the kills above the baseline at the rate fixed now: 30 kills at 0.1 BAN = 3 BAN', () => {
      const events = decide(observe(130n, at(5)), given(linkedUser()));
      const [observed] = ofType(events, 'KillsObserved');
      const [accrual] = ofType(events, 'AccrualRecorded');
      expect(observed.data).toMatchObject({ lifetimeKills: 130, epochMinute: minuteOf(at(5)), skippedUpToKillCount: null });
      expect(accrual.data).toEqual({
        accrualId: accrualIdFor(userId, minuteOf(at(5))),
        userId,
        epochMinute: minuteOf(at(5)),
        kills: 30,
        fromKillCount: 100,
        toKillCount: 130,
        ratePerKillRaw: '10000000000000000000000000000',
        baseRatePerKillRaw: '5000000000000000000000000000',
        milestoneMultiplier: '1.00',
        sustainabilityFactor: '2.0000',
        amountRaw: '300000000000000000000000000000',
        recordedAt: at(5).toISOString(),
      });
    });

    it('never pays kills at or below the baseline, even from an observation stamped before the link', () => {
      const backfilled = decide(observe(90n, new Date(t0.getTime() - 3_600_000), at(1)), given(linkedUser()));
      expect(ofType(backfilled, 'AccrualRecorded')).toEqual([]);
      // The baseline was read at link time, so a lower count is a decrease all the same (L < A).
      expect(ofType(backfilled, 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kills_decreased']);
    });

    it('accrues each new kill once, from the accrued high-water mark', () => {
      const events = history([register(), linkEpic(100n), observe(110n, at(0)), observe(110n, at(60)), observe(125n, at(120))]);
      expect(ofType(events, 'AccrualRecorded').map((accrual) => [accrual.data.kills, accrual.data.fromKillCount, accrual.data.toKillCount])).toEqual([
        [10, 100, 110],
        [15, 110, 125],
      ]);
      expect(ofType(events, 'KillsObserved')).toHaveLength(3);
    });

    it('defers a same-minute observation to the next minute, losing nothing and counting nothing twice', () => {
      const events = history([
        register(),
        linkEpic(100n),
        observe(110n, at(0)),
        observe(117n, at(20)),
        observe(121n, at(40)),
        observe(121n, at(65)),
      ]);
      const accruals = ofType(events, 'AccrualRecorded');
      expect(accruals.map((accrual) => [accrual.data.epochMinute, accrual.data.kills, accrual.data.fromKillCount, accrual.data.toKillCount])).toEqual([
        [minuteOf(at(0)), 10, 100, 110],
        [minuteOf(at(65)), 11, 110, 121],
      ]);
      expect(accruals.reduce((sum, accrual) => sum + accrual.data.kills, 0)).toBe(21);
      expect(ofType(events, 'KillsObserved')).toHaveLength(4);
    });

    it('accepts an observation at the very same time as the previous one', () => {
      const events = history([register(), linkEpic(100n), observe(110n, at(0)), observe(111n, at(0))]);
      expect(ofType(events, 'KillsObserved')).toHaveLength(2);
    });

    it('refuses an observation more than 60 s in the future with observed_at_in_future', () => {
      const state = given(linkedUser());
      expect(rejection(observe(110n, at(61), at(0)), state)).toMatchObject({ code: 'observed_at_in_future', status: 422 });
      expect(decide(observe(110n, at(60), at(0)), state).length).toBeGreaterThan(0);
    });

    it('refuses an observation earlier than the previous one with observed_at_before_previous', () => {
      const state = given(history([register(), linkEpic(100n), observe(110n, at(120))]));
      expect(rejection(observe(115n, at(119), at(200)), state)).toMatchObject({ code: 'observed_at_before_previous', status: 422 });
    });

    it('stamps an observation sent without a time now, or at the previous one when that is later, and never refuses it', () => {
      const unstamped = (lifetimeKills: bigint, now: Date): UserCommand => ({ type: 'ObserveKills', data: { lifetimeKills, observedAt: null, now, rate, abuse } });
      // The previous observation was sent 50 s ahead of the ledger's clock.
      const ahead = history([register(), linkEpic(100n), observe(110n, at(170), at(120))]);
      const behind = decide(unstamped(115n, at(130)), given(ahead));
      expect(ofType(behind, 'KillsObserved')[0].data).toMatchObject({ observedAt: at(170).toISOString(), epochMinute: minuteOf(at(170)) });
      // Same minute as the previous accrual: recorded, and its kills wait for a later minute.
      expect(ofType(behind, 'AccrualRecorded')).toHaveLength(0);
      const later = decide(unstamped(115n, at(200)), given(ahead));
      expect(ofType(later, 'KillsObserved')[0].data.observedAt).toBe(at(200).toISOString());
      expect(ofType(later, 'AccrualRecorded')[0].data).toMatchObject({ kills: 5, epochMinute: minuteOf(at(200)) });
      expect(ofType(decide(unstamped(101n, at(5)), given(history([register(), linkEpic(100n)]))), 'KillsObserved')[0].data.observedAt).toBe(at(5).toISOString());
    });

    it('refuses observations before an Epic account is linked with epic_account_not_linked', () => {
      expect(rejection(observe(10n, t0), given(history([register()])))).toMatchObject({ code: 'epic_account_not_linked', status: 422 });
    });

    it('records the factors of the moment: a later rate change leaves earlier accruals as they were', () => {
      const raised: RateFactors = { baseRaw: parseBan('0.07') as bigint, milestoneMultiplier: '1.05', sustainabilityFactor: '1.3333' };
      const first = history([register(), linkEpic(0n), observe(1n, at(0))]);
      const later = decide({ type: 'ObserveKills', data: { lifetimeKills: 2n, observedAt: at(60), now: at(60), rate: raised, abuse } }, given(first));
      expect(ofType(first, 'AccrualRecorded')[0].data.ratePerKillRaw).toBe('10000000000000000000000000000');
      // 0.07 × 1.05 × 1.3333 = 0.09799755 BAN
      expect(ofType(later, 'AccrualRecorded')[0].data).toMatchObject({
        ratePerKillRaw: '9799755000000000000000000000',
        milestoneMultiplier: '1.05',
        sustainabilityFactor: '1.3333',
        amountRaw: '9799755000000000000000000000',
      });
    });
  });

  describe('abuse heuristics', () => {
    it('flags kills_decreased (med) without an accrual, once while the flag is open', () => {
      const events = history([register(), linkEpic(100n), observe(120n, at(0)), observe(115n, at(60)), observe(110n, at(120))]);
      const flags = ofType(events, 'AbuseFlagRaised');
      expect(flags.map((flag) => [flag.data.flagType, flag.data.severity])).toEqual([['kills_decreased', 'med']]);
      expect(ofType(events, 'AccrualRecorded')).toHaveLength(1);
    });

    it('refuses a count of an Epic account the user no longer links with epic_account_changed, and accrues one of the linked account', () => {
      const events = history([register(), linkEpic(100n), linkEpic(700n, otherEpicId)]);
      const ofAccount = (epicAccountId: string): UserCommand => ({
        type: 'ObserveKills',
        data: { lifetimeKills: 1_000n, observedAt: at(0), now: at(0), rate, abuse, epicAccountId },
      });
      expect(rejection(ofAccount(epicId), given(events))).toMatchObject({ code: 'epic_account_changed', status: 409 });
      expect(ofType(decide(ofAccount(otherEpicId), given(events)), 'AccrualRecorded').map((accrual) => [accrual.data.kills, accrual.data.fromKillCount])).toEqual([[300, 700]]);
    });

    it('flags impossible_delta (high), accrues nothing, and skips those kills for good', () => {
      const events = history([register(), linkEpic(100n), observe(700n, at(0)), observe(705n, at(60))]);
      const [flag] = ofType(events, 'AbuseFlagRaised');
      const observations = ofType(events, 'KillsObserved');
      expect(flag.data).toMatchObject({ flagType: 'impossible_delta', severity: 'high' });
      expect(observations[0].data.skippedUpToKillCount).toBe(700);
      expect(ofType(events, 'AccrualRecorded').map((accrual) => [accrual.data.kills, accrual.data.fromKillCount])).toEqual([[5, 700]]);
      expect(given(events)).toMatchObject({ accruedHighWater: 705n });
    });

    it('accrues a delta exactly at maxKillsPerObservation', () => {
      const events = history([register(), linkEpic(0n), observe(500n, at(0))]);
      expect(ofType(events, 'AccrualRecorded')[0].data.kills).toBe(500);
      expect(ofType(events, 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kill_rate_spike']);
    });

    it('flags impossible_delta one kill above maxKillsPerObservation, measured from the accrued high-water mark', () => {
      // The 10 accrued first move the mark: 510 is 500 new kills (accrued), 511 is 501 (one too many).
      const upTo = (lifetime: bigint): UserEvent[] => history([register(), linkEpic(0n), observe(10n, at(0)), observe(lifetime, at(20 * 60))]);
      expect(ofType(upTo(510n), 'AccrualRecorded').map((accrual) => accrual.data.kills)).toEqual([10, 500]);
      expect(ofType(upTo(510n), 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kill_rate_spike']);
      const events = upTo(511n);
      expect(ofType(events, 'AbuseFlagRaised').map((flag) => [flag.data.flagType, flag.data.severity])).toEqual([['impossible_delta', 'high']]);
      expect(ofType(events, 'AccrualRecorded').map((accrual) => accrual.data.kills)).toEqual([10]);
      expect(ofType(events, 'KillsObserved').map((observed) => observed.data.skippedUpToKillCount)).toEqual([null, 511]);
    });

    it('judges for kill_rate_spike an observation that waits for a later minute: 151 kills within a minute are flagged at once', () => {
      const events = history([register(), linkEpic(100n), observe(101n, at(1)), observe(251n, at(59))]);
      // The second observation accrues nothing yet (same minute), and is flagged with its kills.
      expect(ofType(events, 'AccrualRecorded')).toHaveLength(1);
      expect(events.map((event) => event.type).slice(-2)).toEqual(['KillsObserved', 'AbuseFlagRaised']);
      expect(ofType(events, 'AbuseFlagRaised')[0].data).toMatchObject({ flagType: 'kill_rate_spike', severity: 'med' });
    });

    it('flags a burst whose deferred kills accrue only after the window has passed', () => {
      // 200 kills in 50 s; the last 100 accrue with an observation 16 minutes later.
      const events = history([register(), linkEpic(100n), observe(200n, at(5)), observe(300n, at(50)), observe(300n, at(16 * 60))]);
      expect(ofType(events, 'AccrualRecorded').map((accrual) => accrual.data.kills)).toEqual([100, 100]);
      expect(ofType(events, 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kill_rate_spike']);
    });

    it('spreads the kills of a long gap between observations over it: 160 kills over a day are no spike', () => {
      const events = history([register(), linkEpic(100n), observe(110n, at(0)), observe(270n, at(24 * 3600))]);
      expect(ofType(events, 'AccrualRecorded').map((accrual) => accrual.data.kills)).toEqual([10, 160]);
      expect(ofType(events, 'AbuseFlagRaised')).toEqual([]);
    });

    it('does not flag a steady 8 kills a minute observed every 20 minutes, and flags 11 a minute', () => {
      const polled = (perMinute: number): UserEvent[] => {
        const commands: UserCommand[] = [register(), linkEpic(100n)];
        for (let poll = 1; poll <= 4; poll += 1) commands.push(observe(100n + BigInt(poll * 20 * perMinute), at(poll * 20 * 60)));
        return history(commands);
      };
      expect(ofType(polled(8), 'AbuseFlagRaised')).toEqual([]);
      // 11 a minute: 220 kills over 20 minutes, 165 of them in the last 15.
      expect(ofType(polled(11), 'AbuseFlagRaised').map((flag) => [flag.data.flagType, flag.data.detail])).toEqual([
        ['kill_rate_spike', `165 kills in the 15 minutes to ${at(20 * 60).toISOString()} (limit 150)`],
      ]);
    });

    it('keeps a player observed every few seconds to a few dozen intervals, and still tells 6 kills a minute from 12', () => {
      const everyFewSeconds = (secondsPerKill: number): UserEvent[] => {
        const commands: UserCommand[] = [register(), linkEpic(0n)];
        for (let second = 5; second <= 20 * 60; second += 5) commands.push(observe(BigInt(Math.floor(second / secondsPerKill)), at(second)));
        return history(commands);
      };
      const slow = everyFewSeconds(10);
      expect(ofType(slow, 'AbuseFlagRaised')).toEqual([]);
      expect(given(slow)).toMatchObject({ killPoint: { count: 120n } });
      expect((given(slow) as Extract<UserState, { status: 'registered' }>).recentKills.length).toBeLessThanOrEqual(SPIKE_INTERVALS_MAX);
      // 12 a minute: more than 150 by minute 13 (a kill every 5 s from the link).
      expect(ofType(everyFewSeconds(5), 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kill_rate_spike']);
    });

    it('counts in full the kills observed at the instant of the link, and those of a stale lower count not at all', () => {
      // 151 at the link's instant; then a stale 120 and 151 again add nothing.
      const atLink = history([register(), linkEpic(0n), observe(151n, at(0))]);
      expect(ofType(atLink, 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kill_rate_spike']);
      const stale = history([register(), linkEpic(0n), observe(100n, at(0)), observe(90n, at(60)), observe(150n, at(120))]);
      expect(ofType(stale, 'AbuseFlagRaised').map((flag) => flag.data.flagType)).toEqual(['kills_decreased']);
    });

    it('flags kill_rate_spike (med) above killRatePerMinute × 15 kills in 15 minutes, still accruing', () => {
      const events = history([
        register(),
        linkEpic(0n),
        observe(100n, at(0)),
        observe(150n, at(5 * 60)),
        observe(151n, at(14 * 60)),
        observe(200n, at(15 * 60)),
      ]);
      const flags = ofType(events, 'AbuseFlagRaised');
      expect(flags.map((flag) => flag.data.flagType)).toEqual(['kill_rate_spike']);
      // 100 + 50 + 1 = 151 kills in minutes 0..14: the third accrual crosses 150.
      expect(events.indexOf(flags[0])).toBe(events.indexOf(ofType(events, 'AccrualRecorded')[2]) + 1);
      expect(ofType(events, 'AccrualRecorded')).toHaveLength(4);
    });

    it('does not count accruals older than 15 minutes towards a spike', () => {
      const events = history([register(), linkEpic(0n), observe(100n, at(0)), observe(200n, at(15 * 60))]);
      expect(ofType(events, 'AbuseFlagRaised')).toEqual([]);
    });

    it('flags shared_wallet (low) when the address is another user’s primary, and still links it', () => {
      const events = decide(linkWallet(address, true), given(history([register()])));
      expect(events.map((event) => event.type)).toEqual(['WalletLinked', 'AbuseFlagRaised']);
      expect(ofType(events, 'AbuseFlagRaised')[0].data).toMatchObject({ flagType: 'shared_wallet', severity: 'low' });
    });

    it('clears an open flag once, and then raises that type again when it recurs', () => {
      const flagged = history([register(), linkEpic(100n), observe(120n, at(0)), observe(110n, at(60))]);
      const [flag] = ofType(flagged, 'AbuseFlagRaised');
      const clear: UserCommand = { type: 'ClearAbuseFlag', data: { flagId: flag.data.flagId, reason: 'stats glitch', now: at(90) } };

      const cleared = decide(clear, given(flagged));
      const again = [...flagged, ...cleared];

      expect(cleared).toEqual([{ type: 'AbuseFlagCleared', data: { flagId: flag.data.flagId, userId, reason: 'stats glitch', clearedAt: at(90).toISOString() } }]);
      expect(decide(clear, given(again))).toEqual([]);
      const recurred = decide(observe(100n, at(120)), given(again));
      expect(ofType(recurred, 'AbuseFlagRaised')).toHaveLength(1);
      expect(ofType(recurred, 'AbuseFlagRaised')[0].data.flagId).not.toBe(flag.data.flagId);
    });

    it('refuses to clear a flag the user does not have with abuse_flag_not_found', () => {
      const clear: UserCommand = { type: 'ClearAbuseFlag', data: { flagId: userId, reason: 'x', now: t0 } };
      expect(rejection(clear, given(history([register()])))).toMatchObject({ code: 'abuse_flag_not_found', status: 404 });
    });
  });

  describe('wallets', () => {
    const verifyWallet = (overrides: Partial<Extract<UserCommand, { type: 'VerifyWallet' }>['data']> = {}): UserCommand => ({
      type: 'VerifyWallet',
      data: { address, message: `Pay2Slay wallet for ${userId}`, signature: 'ab'.repeat(64), signatureValid: true, now: at(10), ...overrides },
    });

    it('links a wallet as the sole primary, and decides nothing for the same address again', () => {
      const events = history([register(), linkWallet()]);
      expect(ofType(events, 'WalletLinked')[0].data).toEqual({ userId, address, linkedAt: t0.toISOString() });
      expect(decide(linkWallet(), given(events))).toEqual([]);
      expect(given(events)).toMatchObject({ wallet: { address, verified: false } });
    });

    it('replaces the primary with a new address, unverified', () => {
      const other = 'ban_3sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
      const events = history([register(), linkWallet(), verifyWallet(), linkWallet(other)]);
      expect(given(events)).toMatchObject({ wallet: { address: other, verified: false } });
    });

    it('records a valid signature as WalletVerified, once', () => {
      const events = history([register(), linkWallet(), verifyWallet()]);
      expect(ofType(events, 'WalletVerified')[0].data).toMatchObject({ userId, address, verifiedAt: at(10).toISOString() });
      expect(given(events)).toMatchObject({ wallet: { address, verified: true } });
      expect(decide(verifyWallet(), given(events))).toEqual([]);
    });

    it('refuses a bad signature with invalid_wallet_signature', () => {
      expect(rejection(verifyWallet({ signatureValid: false }), given(history([register(), linkWallet()])))).toMatchObject({
        code: 'invalid_wallet_signature',
        status: 422,
      });
    });

    it('refuses a message that does not name the user with invalid_wallet_message', () => {
      expect(rejection(verifyWallet({ message: 'hello' }), given(history([register(), linkWallet()])))).toMatchObject({
        code: 'invalid_wallet_message',
      });
    });

    it('refuses to verify an address that is not the linked primary with wallet_not_linked', () => {
      expect(rejection(verifyWallet(), given(history([register()])))).toMatchObject({ code: 'wallet_not_linked' });
    });

    it('refuses a proof of the wallet linked before once another is primary, and unverifies an address linked again', () => {
      const other = 'ban_3sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
      const replaced = history([register(), linkWallet(), linkWallet(other)]);
      expect(rejection(verifyWallet(), given(replaced))).toMatchObject({ code: 'wallet_not_linked', status: 422 });
      // A proof recorded for the old address while it was primary does not verify the new one.
      const verifiedThenReplaced = history([register(), linkWallet(), verifyWallet(), linkWallet(other)]);
      expect(given([...verifiedThenReplaced, ...ofType(verifiedThenReplaced, 'WalletVerified')])).toMatchObject({ wallet: { address: other, verified: false } });
      // Linked again, the old address needs a proof again: payouts may require one (payout.requireVerifiedWallet).
      const relinked = history([register(), linkWallet(), verifyWallet(), linkWallet(other), linkWallet()]);
      expect(given(relinked)).toMatchObject({ wallet: { address, verified: false } });
    });
  });

  describe('payouts', () => {
    const earned = (): UserEvent[] => history([register(), linkEpic(0n), linkWallet(), observe(20n, at(0)), observe(60n, at(60))]);
    const accrualIds = (events: UserEvent[]): string[] => ofType(events, 'AccrualRecorded').map((accrual) => accrual.data.accrualId);
    const request = payoutRequest;
    const sent = (payoutId = '5d2c1f3e-1111-4aaa-8bbb-000000000001'): UserCommand => ({
      type: 'RecordPayoutSent',
      data: { payoutId, gateway: 'dry-run', blockHash: `dryrun-${payoutId}`, now: at(130) },
    });

    it('requests a payout that claims exactly the covered kills', () => {
      const [event] = ofType(decide(request(earned()), given(earned())), 'PayoutRequested');
      expect(event.data).toMatchObject({ kills: 25, amountRaw: '250000000000000000000000000000', idempotencyKey: 'key-1', address });
      expect(event.data.accruals.map((accrual) => accrual.kills)).toEqual([20, 5]);
    });

    it('decides nothing for a key a live payout holds, and refuses a second payout in flight', () => {
      const requested = [...earned(), ...decide(request(earned()), given(earned()))];
      expect(decide(request(earned()), given(requested))).toEqual([]);
      expect(rejection(request(earned(), { idempotencyKey: 'key-2', payoutId: 'other' }), given(requested))).toMatchObject({
        code: 'payout_in_flight',
        status: 409,
      });
    });

    it('refuses a plan that claims kills already claimed (a read model was behind) with stale_settlement_plan', () => {
      const events = earned();
      const [first] = accrualIds(events);
      const requested = [...events, ...decide(request(events), given(events)), ...decide(sent(), given([...events, ...decide(request(events), given(events))]))];
      const again = request(events, { payoutId: 'p2', idempotencyKey: 'key-2', kills: 1n, amountRaw: 10n ** 28n, accruals: [{ accrualId: first, kills: 1n }] });
      expect(rejection(again, given(requested))).toMatchObject({ code: 'stale_settlement_plan' });
    });

    it('refuses a plan made before the stream moved on with stale_settlement_plan: a new wallet, a verification not ok, an open high flag', () => {
      const events = earned();
      const other = 'ban_3sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
      const after = (command: UserCommand): UserEvent[] => [...events, ...decide(command, given(events))];
      const moved = {
        newWallet: after(linkWallet(other)),
        notLinked: after({ type: 'RecordVerification', data: { finding: { kind: 'not_linked' }, rate, now: at(90) } }),
        flagged: after(observe(700n, at(90))),
      };
      for (const history of Object.values(moved)) {
        expect(rejection(request(history), given(history))).toMatchObject({ code: 'stale_settlement_plan', status: 409 });
      }
      // A plan made after the change pays the new wallet.
      expect(ofType(decide(request(moved.newWallet, { address: other }), given(moved.newWallet)), 'PayoutRequested')[0].data.address).toBe(other);
      const [flag] = ofType(moved.flagged, 'AbuseFlagRaised');
      const cleared = [...moved.flagged, ...decide({ type: 'ClearAbuseFlag', data: { flagId: flag.data.flagId, reason: 'checked', now: at(100) } }, given(moved.flagged))];
      expect(ofType(decide(request(cleared), given(cleared)), 'PayoutRequested')).toHaveLength(1);
    });

    it('pays a user whose open flags are medium or low: only a high one stops settlement', () => {
      // The wallet is primary for someone else too (shared_wallet, low); 50 is below the 60 accrued (kills_decreased, med).
      const flagged = history([register(), linkEpic(0n), linkWallet(address, true), observe(20n, at(0)), observe(60n, at(60)), observe(50n, at(90))]);
      expect(ofType(flagged, 'AbuseFlagRaised').map((flag) => [flag.data.flagType, flag.data.severity])).toEqual([
        ['shared_wallet', 'low'],
        ['kills_decreased', 'med'],
      ]);
      expect(ofType(decide(request(flagged), given(flagged)), 'PayoutRequested')).toHaveLength(1);
    });

    it('refuses a payout to an unverified wallet when payout.requireVerifiedWallet is on, and requests it once the wallet is verified', () => {
      const events = earned();
      expect(rejection(request(events, { requireVerifiedWallet: true }), given(events))).toMatchObject({ code: 'stale_settlement_plan' });
      const verifyWallet: UserCommand = {
        type: 'VerifyWallet',
        data: { address, message: `Pay2Slay wallet for ${userId}`, signature: 'ab'.repeat(64), signatureValid: true, now: at(100) },
      };
      const verified = [...events, ...decide(verifyWallet, given(events))];
      expect(ofType(decide(request(verified, { requireVerifiedWallet: true }), given(verified)), 'PayoutRequested')).toHaveLength(1);
    });

    it('leaves the state it evolves from as it was: a cached state two commands share never changes under either', () => {
      const events = earned();
      const before = given(events);
      const claims = (state: UserState): Array<[string, bigint]> =>
        state.status === 'registered' ? [...state.accruals.entries()].map(([accrualId, accrual]) => [accrualId, accrual.claimed]) : [];
      const [first, second] = accrualIds(events);

      const claimed = decide(request(events), before).reduce(evolve, before);
      const observed = decide(observe(90n, at(180)), before).reduce(evolve, before);

      expect(claims(before)).toEqual([[first, 0n], [second, 0n]]);
      expect(claims(claimed)).toEqual([[first, 20n], [second, 5n]]);
      expect(claims(observed)).toEqual([[first, 0n], [second, 0n], [expect.any(String), 0n]]);
    });

    it('leaves the payouts of the state it evolves from as they were', () => {
      const requested = [...earned(), ...decide(request(earned()), given(earned()))];
      const before = given(requested);
      const statuses = (state: UserState): string[] => (state.status === 'registered' ? [...state.payouts.values()].map((payout) => payout.status) : []);

      const after = decide(sent(), before).reduce(evolve, before);

      expect(statuses(before)).toEqual(['requested']);
      expect(statuses(after)).toEqual(['sent']);
    });

    it('records a payout sent once, with its kills and accruals', () => {
      const requested = [...earned(), ...decide(request(earned()), given(earned()))];
      const events = decide(sent(), given(requested));
      expect(ofType(events, 'PayoutSent')[0].data).toMatchObject({ kills: 25, amountRaw: '250000000000000000000000000000', blockHash: 'dryrun-5d2c1f3e-1111-4aaa-8bbb-000000000001' });
      expect(decide(sent(), given([...requested, ...events]))).toEqual([]);
      expect(rejection(sent('unknown'), given(requested))).toMatchObject({ code: 'payout_not_found', status: 404 });
    });
  });

  describe('payout failures, retry and cancel', () => {
    const payoutId = '5d2c1f3e-1111-4aaa-8bbb-000000000001';
    const policy = { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 5_000 };
    const earnedCommands = (): UserCommand[] => [register(), linkEpic(0n), linkWallet(), observe(20n, at(0)), observe(60n, at(60))];
    const earned = (): UserEvent[] => history(earnedCommands());
    const request = payoutRequest;
    const attemptFailed = (attempt: number, now = at(200), overrides: Partial<Extract<UserCommand, { type: 'RecordPayoutAttemptFailed' }>['data']> = {}): UserCommand => ({
      type: 'RecordPayoutAttemptFailed',
      data: { payoutId, attempt, error: 'Block is invalid', blockHash: 'AB'.repeat(32), policy, now, ...overrides },
    });
    const retry = (id = payoutId, now = at(300)): UserCommand => ({ type: 'RetryPayout', data: { payoutId: id, now } });
    const cancel = (id = payoutId, now = at(300)): UserCommand => ({ type: 'CancelPayout', data: { payoutId: id, reason: 'wallet closed', now } });
    const sent = (id = payoutId): UserCommand => ({ type: 'RecordPayoutSent', data: { payoutId: id, gateway: 'dry-run', blockHash: `dryrun-${id}`, now: at(400) } });
    const requested = (): UserEvent[] => history([...earnedCommands(), request(earned())]);
    /** Requested, then failed `policy.maxAttempts` times in a row. */
    const failed = (): UserEvent[] => history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3)]);
    const registered = (events: UserEvent[]): Extract<UserState, { status: 'registered' }> => {
      const state = given(events);
      if (state.status !== 'registered') throw new Error('The user is not registered');
      return state;
    };
    const payoutOf = (events: UserEvent[]) => registered(events).payouts.get(payoutId);
    const claimedKills = (events: UserEvent[]): bigint[] => [...registered(events).accruals.values()].map((accrual) => accrual.claimed);

    it('doubles the backoff after each failed attempt, up to backoffMaxMs', () => {
      const patient = { maxAttempts: 10, backoffBaseMs: 1_000, backoffMaxMs: 5_000 };
      const commands = [1, 2, 3, 4, 5].map((attempt) => attemptFailed(attempt, at(200 + attempt), { policy: patient }));
      const all = history([...earnedCommands(), request(earned()), ...commands]);
      const events = ofType(all, 'PayoutAttemptFailed');

      expect(events.map((event) => Date.parse(event.data.nextAttemptAt as string) - Date.parse(event.data.failedAt))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
      expect(events[0].data).toEqual({
        payoutId,
        userId,
        attempt: 1,
        error: 'Block is invalid',
        blockHash: 'AB'.repeat(32),
        failedAt: at(201).toISOString(),
        nextAttemptAt: new Date(at(201).getTime() + 1_000).toISOString(),
      });
      expect(ofType(all, 'PayoutFailed')).toEqual([]);
    });

    it('fails the payout exactly at maxAttempts failed attempts in a row, with no next attempt', () => {
      const beforeLast = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2)]);
      const last = decide(attemptFailed(3, at(210)), given(beforeLast));

      expect(ofType(beforeLast, 'PayoutFailed')).toEqual([]);
      expect(payoutOf(beforeLast)).toMatchObject({ status: 'requested', attempts: 2 });
      expect(last).toEqual([
        {
          type: 'PayoutAttemptFailed',
          data: { payoutId, userId, attempt: 3, error: 'Block is invalid', blockHash: 'AB'.repeat(32), failedAt: at(210).toISOString(), nextAttemptAt: null },
        },
        { type: 'PayoutFailed', data: { payoutId, userId, attempts: 3, error: 'Block is invalid', failedAt: at(210).toISOString() } },
      ]);
      expect(payoutOf([...beforeLast, ...last])).toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null });
    });

    it('decides nothing for an attempt already recorded or a payout no longer requested, and refuses to skip an attempt', () => {
      const once = history([...earnedCommands(), request(earned()), attemptFailed(1)]);

      expect(decide(attemptFailed(1), given(once))).toEqual([]);
      expect(decide(attemptFailed(4), given(failed()))).toEqual([]);
      // Skipping a number is an executor bug, not a rule a caller broke: it crashes loudly.
      expect(() => decide(attemptFailed(3), given(once))).toThrow(/skips attempt 2/);
      expect(() => decide(attemptFailed(3), given(once))).not.toThrow(DomainError);
    });

    it('retries a failed payout: the count in a row starts again, the attempt numbers go on', () => {
      const retried = [...failed(), ...decide(retry(), given(failed()))];
      const fourth = decide(attemptFailed(4, at(400)), given(retried));
      const fifth = decide(attemptFailed(5, at(410)), given([...retried, ...fourth]));
      const sixth = decide(attemptFailed(6, at(420)), given([...retried, ...fourth, ...fifth]));

      expect(retried.at(-1)).toEqual({ type: 'PayoutRetryRequested', data: { payoutId, userId, requestedAt: at(300).toISOString() } });
      expect(payoutOf(retried)).toMatchObject({ status: 'requested', attempts: 3, attemptsSinceRetry: 0 });
      expect(decide(attemptFailed(3), given(retried))).toEqual([]);
      // The backoff starts again from its base, and only the third failure after the retry fails the payout.
      expect(fourth.map((event) => event.type)).toEqual(['PayoutAttemptFailed']);
      expect(ofType(fourth, 'PayoutAttemptFailed')[0].data.nextAttemptAt).toBe(new Date(at(400).getTime() + 1_000).toISOString());
      expect(fifth.map((event) => event.type)).toEqual(['PayoutAttemptFailed']);
      expect(sixth.map((event) => event.type)).toEqual(['PayoutAttemptFailed', 'PayoutFailed']);
      expect(ofType(sixth, 'PayoutFailed')[0].data.attempts).toBe(6);
    });

    it('refuses to retry or cancel a payout that is requested, sent or cancelled with 409 payout_not_failed', () => {
      const sentEvents = history([...earnedCommands(), request(earned()), sent()]);
      const cancelled = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3), cancel()]);
      const retriedOnce = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3), retry()]);

      for (const events of [requested(), sentEvents]) {
        expect(rejection(retry(), given(events))).toMatchObject({ code: 'payout_not_failed', status: 409 });
        expect(rejection(cancel(), given(events))).toMatchObject({ code: 'payout_not_failed', status: 409 });
      }
      expect(rejection(retry(), given(cancelled))).toMatchObject({ code: 'payout_not_failed', status: 409 });
      expect(rejection(cancel(), given(retriedOnce))).toMatchObject({ code: 'payout_not_failed', status: 409 });
    });

    it('decides nothing for a cancel of a cancelled payout, or a retry of one pending again after a retry (STYLE habit 4)', () => {
      const cancelled = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3), cancel()]);
      const retriedOnce = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3), retry()]);
      const retriedThenTried = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3), retry(), attemptFailed(4, at(400))]);
      const failedAgain = history([...earnedCommands(), request(earned()), attemptFailed(1), attemptFailed(2), attemptFailed(3), retry(), ...[4, 5, 6].map((n) => attemptFailed(n, at(400 + n)))]);

      // Two admins who cancel, or retry, the same failed payout at once both get what they asked for.
      expect(decide(cancel(), given(cancelled))).toEqual([]);
      expect(decide(retry(), given(retriedOnce))).toEqual([]);
      expect(decide(retry(), given(retriedThenTried))).toEqual([]);
      // A payout failed again after its retry is failed: a retry is a new one.
      expect(payoutOf(failedAgain)).toMatchObject({ status: 'failed' });
      expect(decide(retry(payoutId, at(500)), given(failedAgain)).map((event) => event.type)).toEqual(['PayoutRetryRequested']);
    });

    it('cancels a failed payout, giving its kills back: the same accruals under the same key may be requested again', () => {
      const cancelled = decide(cancel(), given(failed()));
      const after = [...failed(), ...cancelled];
      const again = decide(request(earned(), { payoutId: '5d2c1f3e-1111-4aaa-8bbb-000000000009', now: at(500) }), given(after));

      expect(cancelled).toEqual([
        {
          type: 'PayoutCancelled',
          data: {
            payoutId,
            userId,
            reason: 'wallet closed',
            kills: 25,
            amountRaw: '250000000000000000000000000000',
            accruals: ofType(requested(), 'PayoutRequested')[0].data.accruals,
            cancelledAt: at(300).toISOString(),
          },
        },
      ]);
      expect(claimedKills(failed())).toEqual([20n, 5n]);
      expect(claimedKills(after)).toEqual([0n, 0n]);
      expect(ofType(again, 'PayoutRequested')[0].data).toMatchObject({ payoutId: '5d2c1f3e-1111-4aaa-8bbb-000000000009', idempotencyKey: 'key-1', kills: 25 });
    });

    it('decides nothing for a cancelled payout’s request sent again: it stays cancelled', () => {
      const after = [...failed(), ...decide(cancel(), given(failed()))];

      expect(decide(request(earned(), { now: at(500) }), given(after))).toEqual([]);
      expect(payoutOf(after)?.status).toBe('cancelled');
      expect(claimedKills(after)).toEqual([0n, 0n]);
    });

    it('keeps a failed payout’s claim: another payout is refused with payout_in_flight, the same key decides nothing', () => {
      expect(rejection(request(earned(), { payoutId: 'p2', idempotencyKey: 'key-2' }), given(failed()))).toMatchObject({
        code: 'payout_in_flight',
        status: 409,
      });
      expect(decide(request(earned(), { payoutId: 'p2' }), given(failed()))).toEqual([]);
    });

    it('records a failed payout found on the chain as sent, and refuses a cancelled one with 409 payout_cancelled', () => {
      const cancelled = [...failed(), ...decide(cancel(), given(failed()))];

      expect(decide(sent(), given(failed()))).toEqual([
        {
          type: 'PayoutSent',
          data: {
            payoutId,
            userId,
            blockHash: `dryrun-${payoutId}`,
            kills: 25,
            amountRaw: '250000000000000000000000000000',
            accruals: ofType(requested(), 'PayoutRequested')[0].data.accruals,
            sentAt: at(400).toISOString(),
          },
        },
      ]);
      expect(rejection(sent(), given(cancelled))).toMatchObject({ code: 'payout_cancelled', status: 409 });
    });

    it('keeps a payout to its gateway: another gateway cannot record it sent (409 payout_gateway_mismatch)', () => {
      const live = history([...earnedCommands(), request(earned(), { gateway: 'live' })]);
      const liveSent: UserCommand = { type: 'RecordPayoutSent', data: { payoutId, gateway: 'live', blockHash: 'CD'.repeat(32), now: at(400) } };

      expect(payoutOf(live)?.gateway).toBe('live');
      expect(rejection(sent(), given(live))).toMatchObject({ code: 'payout_gateway_mismatch', status: 409 });
      expect(rejection(liveSent, given(requested()))).toMatchObject({ code: 'payout_gateway_mismatch', status: 409 });
      expect(decide(liveSent, given(live)).map((event) => event.type)).toEqual(['PayoutSent']);
    });

    it('refuses every payout command for a payout the user does not have with 404 payout_not_found', () => {
      const unknown = '5d2c1f3e-1111-4aaa-8bbb-00000000ffff';
      for (const command of [attemptFailed(1, at(200), { payoutId: unknown }), retry(unknown), cancel(unknown), sent(unknown)]) {
        expect(rejection(command, given(failed()))).toMatchObject({ code: 'payout_not_found', status: 404 });
      }
    });
  });
});
