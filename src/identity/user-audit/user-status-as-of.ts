import { payoutSettingsInForce, faucetConfigDecider } from '../../admin/faucet-config/faucet-config.decider';
import { FAUCET_CONFIG_STREAM, type PayoutSettings } from '../../admin/faucet-config/faucet-config.events';
import { fold } from '../../platform/decider';
import { NotFoundError } from '../../platform/errors/domain-error';
import { type EventStore, type RecordedEvent } from '../../platform/event-store/event-store.port';
import { moneyPair } from '../../platform/money';
import { capWindows } from '../../payouts/run-settlement/settlement-facts';
import { type UserView } from '../get-user/get-user.query';
import { balancesOf, claimedKillsSince, evolveTimeline, initialTimelineState, type TimelineState } from '../user/user-timeline';
import { toStreamName } from '../user/user.stream';
import { cutHistory, type HistoryCut } from './as-of-cut';
import { decodeRecorded } from './user-audit-trail';

/** A user's status as it was: GET /v1/users/:userId's shape, plus where the answer was cut. */
export interface UserAsOfView extends UserView {
  /**
   * The time the answer is for: the asked time, or for a position the time of the last event at or
   * before it in the user's stream or the faucet config, whichever was recorded later.
   */
  readonly asOf: string;
  /** Position in `$all` of the last event of the user's stream included. */
  readonly position: string;
}

/** The daily and weekly kill caps in force, which decide `capsRemaining`. */
export interface KillCaps {
  readonly dailyKillCap: number;
  readonly weeklyKillCap: number;
}

/** The audit fold of recorded events; types this service does not know are skipped. */
export function foldTimeline(history: readonly RecordedEvent[]): TimelineState {
  let state = initialTimelineState;
  for (const recorded of history) {
    const event = decodeRecorded(recorded);
    if (event !== null) state = evolveTimeline(state, event);
  }
  return state;
}

/**
 * The status the events add up to, in the shape of GET /v1/users/:userId (SPEC §5), with the caps
 * left on `clock`'s UTC day and ISO week. Null before the user registered. Kill counts are JSON
 * integers (safe integers by the event decoder), amounts raw/BAN string pairs.
 */
export function userViewOf(state: TimelineState, caps: KillCaps, clock: Date): UserView | null {
  const user = state.user;
  if (user.status !== 'registered' || state.registeredAt === null) return null;
  const balances = balancesOf(state);
  const unsettled = moneyPair(balances.unsettledRaw);
  const paid = moneyPair(balances.paidRaw);
  const { dayStart, weekStart } = capWindows(clock);
  const left = (cap: number, claimed: bigint): number => Math.max(0, cap - Number(claimed));
  const claimedThisWeek = claimedKillsSince(state, weekStart);
  return {
    userId: user.userId,
    discordUserId: user.discordUserId,
    epicAccountId: user.epic?.epicAccountId ?? null,
    regionCode: user.regionCode,
    wallet: user.wallet === null ? null : { address: user.wallet.address, verified: user.wallet.verified },
    verificationStatus: user.verification,
    lastSettledKillCount: Number(balances.settledKills),
    accruedKillCount: Number(balances.accruedKills),
    lastObservedKillCount: user.lastObservedKills === null ? null : Number(user.lastObservedKills),
    lastSettlementAt: state.lastSettlementAt === null ? null : new Date(state.lastSettlementAt).toISOString(),
    unsettledKills: Number(balances.unsettledKills),
    unsettledRaw: unsettled.raw,
    unsettledBan: unsettled.ban,
    totalPaidRaw: paid.raw,
    totalPaidBan: paid.ban,
    capsRemaining: {
      today: Math.min(left(caps.dailyKillCap, claimedKillsSince(state, dayStart)), left(caps.weeklyKillCap, claimedThisWeek)),
      thisWeek: left(caps.weeklyKillCap, claimedThisWeek),
    },
    openFlags: user.flags.filter((flag) => flag.open).map((flag) => ({ flagId: flag.flagId, flagType: flag.flagType, severity: flag.severity })),
    registeredAt: new Date(state.registeredAt).toISOString(),
  };
}

/**
 * The user's status as it was at the cut, folded from the user's own stream up to it — never
 * from the read models. The caps are those in force then: the `faucet-config` stream cut the same
 * way, over `payoutDefaults` (the environment's values today; an environment changed since is not
 * recorded anywhere, so it cannot be replayed). `capsRemaining` is counted on the UTC day and ISO
 * week of the answer's time. For a position, that is when the last event the answer depends on
 * was recorded, the user's or a config change's: the answer is then what the live status said
 * right after it, caps included. (Taken from the user's events alone, a cap changed on a later day
 * was applied to the claims of the user's last day, a figure no live answer ever showed.) 404
 * `user_not_found` when the user had no events by then.
 */
export async function userStatusAsOf(store: EventStore, userId: string, cut: HistoryCut, payoutDefaults: PayoutSettings): Promise<UserAsOfView> {
  const [history, config] = await Promise.all([store.readStream(toStreamName(userId)), store.readStream(FAUCET_CONFIG_STREAM)]);
  const included = cutHistory(history, cut);
  const last = included.at(-1);
  const notFound = (): NotFoundError =>
    new NotFoundError('user_not_found', `No user ${userId} ${cut.kind === 'time' ? `at ${cut.at.toISOString()}` : `at position ${cut.position.toString()}`}`);
  if (last === undefined) throw notFound();
  const configIncluded = cutHistory(config, cut);
  const configChangedAt = configIncluded.at(-1)?.createdAt ?? null;
  const clock = cut.kind === 'time' ? cut.at : configChangedAt !== null && configChangedAt > last.createdAt ? configChangedAt : last.createdAt;
  const settings = payoutSettingsInForce(fold(faucetConfigDecider, configIncluded), payoutDefaults);
  const view = userViewOf(foldTimeline(included), settings, clock);
  if (view === null) throw notFound();
  return { ...view, asOf: clock.toISOString(), position: last.position.toString() };
}
