import { OrderedMap } from 'immutable';
import { v5 as uuidv5 } from 'uuid';
import { type Decider } from '../../platform/decider';
import { DomainError, NotFoundError } from '../../platform/errors/domain-error';
import { type RateFactors, ratePerKillRaw } from '../../rewards/economics/rate';
import {
  type AbuseFlagType,
  type AbuseSeverity,
  decodeUserEvent,
  type PayoutGateway,
  type UserEvent,
  type VerificationSource,
  type VerificationStatus,
} from './user.events';

/** Namespace of the deterministic accrual and flag ids derived from a user's history. */
const USER_DERIVED_ID_NAMESPACE = '0f9d5a8e-6c2b-5e4f-9a71-3b8c2d1e4f60';
/** An observation may be stamped at most this far ahead of the service's clock (SPEC §4.2). */
const OBSERVED_AT_FUTURE_MAX_MS = 60_000;
/** kill_rate_spike counts the kills observed in this many minutes up to an observation. */
const SPIKE_WINDOW_MINUTES = 15;
const SPIKE_WINDOW_MS = SPIKE_WINDOW_MINUTES * 60_000;
/** Observed kills within this span of the start of the interval before them are added to it. */
const SPIKE_MERGE_SPAN_MS = 60_000;

export interface Flag {
  readonly flagId: string;
  readonly flagType: AbuseFlagType;
  readonly severity: AbuseSeverity;
  readonly open: boolean;
}

export interface RegisteredUser {
  readonly status: 'registered';
  readonly userId: string;
  readonly discordUserId: string;
  readonly regionCode: string | null;
  readonly epic: { readonly epicAccountId: string; readonly baseline: bigint } | null;
  readonly verification: VerificationStatus | null;
  readonly wallet: { readonly address: string; readonly verified: boolean } | null;
  /** A: baseline + every kill accrued (or skipped) since; new kills are L − A (SPEC §4.2). */
  readonly accruedHighWater: bigint | null;
  /**
   * A as it stood when each Epic account the user linked before was replaced: its kills up to
   * there were accrued (or skipped) already, whatever baseline a later link of it states.
   */
  readonly formerHighWater: ReadonlyMap<string, bigint>;
  readonly lastObservedKills: bigint | null;
  readonly lastObservedAt: string | null;
  readonly lastAccrualMinute: number | null;
  /**
   * The last count known of the linked account and when: its baseline at the link, then each
   * observation that did not go down, so the highest count seen (a lower one is stale: a lifetime
   * count never falls). Kills it holds above A are those a same-minute observation deferred
   * (accrueDeferredKills). With it, for kill_rate_spike, the kills observed since each such point
   * that may fall in the window of a later observation.
   */
  readonly killPoint: KillPoint | null;
  readonly recentKills: readonly ObservedKills[];
  readonly flags: readonly Flag[];
  /**
   * Every accrual's kills and how many of them live payouts claim, in the order recorded. A
   * persistent map: an event changes a few of its nodes and shares the rest with the state before,
   * which stays as it was. A Map copied for every accrual made folding a stream quadratic (20,000
   * accruals, a heavy player's few months, took 41 s to fold).
   */
  readonly accruals: OrderedMap<string, AccrualClaims>;
  /**
   * Every payout by its id, in the order requested; persistent like `accruals`. An array copied
   * for every payout, and searched for every payout event, made folding quadratic in payouts
   * (20,000 payouts, a settlement every 20 minutes for most of a year, took 6 s to fold).
   */
  readonly payouts: OrderedMap<string, PayoutState>;
}

export interface KillPoint {
  readonly count: bigint;
  readonly atMs: number;
}

/** `kills` new kills, made at some time between `fromMs` and `toMs` (the observation). */
export interface ObservedKills {
  readonly fromMs: number;
  readonly toMs: number;
  readonly kills: bigint;
}

export interface AccrualClaims {
  readonly kills: bigint;
  readonly claimed: bigint;
}

export interface PayoutState {
  readonly payoutId: string;
  /** requested → sent, or → failed (claim kept) → requested again on retry, or → cancelled (claim released). */
  readonly status: 'requested' | 'sent' | 'failed' | 'cancelled';
  readonly gateway: PayoutGateway;
  readonly address: string;
  readonly idempotencyKey: string;
  /** Failed attempts so far, across retries: the next attempt is number `attempts + 1`. */
  readonly attempts: number;
  /** Failed attempts since the payout was requested or last retried, against payout.maxAttempts. */
  readonly attemptsSinceRetry: number;
  /** Requested again by an admin's retry, and not failed since: a second retry asks for nothing new. */
  readonly retried: boolean;
  /** The executor waits until then before the next attempt (exponential backoff); null: now. */
  readonly nextAttemptAt: string | null;
  /** The block PayoutSent recorded; null until then. */
  readonly sentBlockHash: string | null;
  readonly kills: bigint;
  readonly amountRaw: bigint;
  readonly accruals: ReadonlyArray<{ readonly accrualId: string; readonly kills: number }>;
}

export type UserState = { readonly status: 'unregistered' } | RegisteredUser;

export interface RegisterUser {
  readonly type: 'RegisterUser';
  readonly data: { readonly userId: string; readonly discordUserId: string; readonly regionCode: string | null; readonly now: Date };
}

export interface LinkEpicAccount {
  readonly type: 'LinkEpicAccount';
  readonly data: {
    readonly epicAccountId: string;
    readonly baselineKills: bigint;
    /** Outside fact: another user holds this Epic id. */
    readonly linkedToAnotherUser: boolean;
    /** Outside fact: the count a former holder of this Epic id accrued it up to (epic_account_marks), if any. */
    readonly formerHolderMark: EpicAccountMark | null;
    /** The rate in force: kills of the account linked now that wait for a later minute accrue at it. */
    readonly rate: RateFactors;
    readonly now: Date;
  };
}

/**
 * The count up to which a former holder of an Epic account (another user) accrued its kills, as
 * epic_account_marks keeps it. A link takes no lower a baseline.
 */
export interface EpicAccountMark {
  readonly userId: string;
  readonly killCount: bigint;
}

/** The outcome of asking Yunite, as the handler found it. */
export type YuniteFinding =
  | { readonly kind: 'not_linked' }
  | {
      readonly kind: 'linked';
      readonly epicAccountId: string;
      /** The new account's lifetime kills, or why it could not be read. Only read when needed. */
      readonly baseline: { readonly kills: bigint } | { readonly error: string } | null;
      readonly linkedToAnotherUser: boolean;
      /** As in LinkEpicAccount; null also when the account is not new to the user. */
      readonly formerHolderMark: EpicAccountMark | null;
    };

export interface RecordVerification {
  readonly type: 'RecordVerification';
  /** `rate` as in LinkEpicAccount, for a changed account. */
  readonly data: { readonly finding: YuniteFinding; readonly rate: RateFactors; readonly now: Date };
}

export interface LinkWallet {
  readonly type: 'LinkWallet';
  readonly data: {
    readonly address: string;
    /** Outside fact: the address is the primary wallet of another user too. */
    readonly primaryForAnotherUser: boolean;
    readonly now: Date;
  };
}

export interface VerifyWallet {
  readonly type: 'VerifyWallet';
  readonly data: {
    readonly address: string;
    readonly message: string;
    readonly signature: string;
    /** Outside fact, checked with bananojs: the signature is the address key's, over the message. */
    readonly signatureValid: boolean;
    readonly now: Date;
  };
}

export interface AbuseLimits {
  readonly killRatePerMinute: bigint;
  readonly maxKillsPerObservation: bigint;
}

export interface ObserveKills {
  readonly type: 'ObserveKills';
  readonly data: {
    readonly lifetimeKills: bigint;
    /** When the count was read; null when the request left it to the ledger (see observeKills). */
    readonly observedAt: Date | null;
    readonly now: Date;
    /** The factors in force now; the accrual records them. */
    readonly rate: RateFactors;
    readonly abuse: AbuseLimits;
    /** The Epic account the count is of, when the observer named one: it must be the one linked now. */
    readonly epicAccountId?: string;
  };
}

export interface ClearAbuseFlag {
  readonly type: 'ClearAbuseFlag';
  readonly data: { readonly flagId: string; readonly reason: string; readonly now: Date };
}

export interface RequestPayout {
  readonly type: 'RequestPayout';
  readonly data: {
    readonly payoutId: string;
    readonly runId: string;
    readonly gateway: PayoutGateway;
    readonly address: string;
    readonly kills: bigint;
    readonly amountRaw: bigint;
    readonly idempotencyKey: string;
    readonly accruals: ReadonlyArray<{ readonly accrualId: string; readonly kills: bigint }>;
    /** Config `payout.requireVerifiedWallet`: a wallet must be verified to be paid. */
    readonly requireVerifiedWallet: boolean;
    readonly now: Date;
  };
}

export interface RecordPayoutSent {
  readonly type: 'RecordPayoutSent';
  /** `gateway`: the executor that sent it, which must be the payout's own. */
  readonly data: { readonly payoutId: string; readonly gateway: PayoutGateway; readonly blockHash: string; readonly now: Date };
}

export interface PayoutRetryPolicy {
  /** payout.maxAttempts: failed attempts in a row before the payout is failed (SPEC §4.4.5). */
  readonly maxAttempts: number;
  /** The wait after the first failed attempt, doubled after each later one. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface RecordPayoutAttemptFailed {
  readonly type: 'RecordPayoutAttemptFailed';
  readonly data: {
    readonly payoutId: string;
    readonly attempt: number;
    readonly error: string;
    readonly blockHash: string | null;
    readonly policy: PayoutRetryPolicy;
    readonly now: Date;
  };
}

export interface RetryPayout {
  readonly type: 'RetryPayout';
  readonly data: { readonly payoutId: string; readonly now: Date };
}

export interface CancelPayout {
  readonly type: 'CancelPayout';
  readonly data: { readonly payoutId: string; readonly reason: string; readonly now: Date };
}

export type UserCommand =
  | RegisterUser
  | LinkEpicAccount
  | RecordVerification
  | LinkWallet
  | VerifyWallet
  | ObserveKills
  | ClearAbuseFlag
  | RequestPayout
  | RecordPayoutSent
  | RecordPayoutAttemptFailed
  | RetryPayout
  | CancelPayout;

export const initialState: UserState = { status: 'unregistered' };

export function epochMinute(at: Date): number {
  return Math.floor(at.getTime() / 60_000);
}

export function accrualIdFor(userId: string, minute: number): string {
  return uuidv5(`${userId}:accrual:${minute}`, USER_DERIVED_ID_NAMESPACE);
}

function flagIdFor(userId: string, ordinal: number): string {
  return uuidv5(`${userId}:flag:${ordinal}`, USER_DERIVED_ID_NAMESPACE);
}

export function evolve(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserRegistered') {
    return {
      status: 'registered',
      userId: event.data.userId,
      discordUserId: event.data.discordUserId,
      regionCode: event.data.regionCode,
      epic: null,
      verification: null,
      wallet: null,
      accruedHighWater: null,
      formerHighWater: new Map(),
      lastObservedKills: null,
      lastObservedAt: null,
      lastAccrualMinute: null,
      killPoint: null,
      recentKills: [],
      flags: [],
      accruals: OrderedMap(),
      payouts: OrderedMap(),
    };
  }
  if (state.status !== 'registered') throw new Error(`${event.type} before UserRegistered`);
  switch (event.type) {
    case 'EpicAccountLinked': {
      const baseline = BigInt(event.data.baselineKills);
      // A new account starts from its own baseline; what the old one accrued stays accrued.
      const formerHighWater =
        state.epic === null || state.accruedHighWater === null
          ? state.formerHighWater
          : new Map(state.formerHighWater).set(state.epic.epicAccountId, state.accruedHighWater);
      return {
        ...state,
        epic: { epicAccountId: event.data.epicAccountId, baseline },
        accruedHighWater: baseline,
        formerHighWater,
        killPoint: { count: baseline, atMs: Date.parse(event.data.linkedAt) },
      };
    }
    case 'VerificationRecorded':
      return { ...state, verification: event.data.status };
    case 'WalletLinked':
      return { ...state, wallet: { address: event.data.address, verified: false } };
    case 'WalletVerified':
      return state.wallet !== null && state.wallet.address === event.data.address
        ? { ...state, wallet: { address: event.data.address, verified: true } }
        : state;
    case 'KillsObserved': {
      const skipped = event.data.skippedUpToKillCount === null ? null : BigInt(event.data.skippedUpToKillCount);
      const accruedHighWater =
        skipped !== null && state.accruedHighWater !== null && skipped > state.accruedHighWater ? skipped : state.accruedHighWater;
      const lifetimeKills = BigInt(event.data.lifetimeKills);
      const observed = observedKills(state, lifetimeKills, Date.parse(event.data.observedAt));
      return {
        ...state,
        lastObservedKills: lifetimeKills,
        lastObservedAt: event.data.observedAt,
        accruedHighWater,
        killPoint: observed.point,
        recentKills: observed.recent,
      };
    }
    case 'AccrualRecorded': {
      const minute = event.data.epochMinute;
      const accruals = state.accruals.set(event.data.accrualId, { kills: BigInt(event.data.kills), claimed: 0n });
      return { ...state, accruedHighWater: BigInt(event.data.toKillCount), lastAccrualMinute: minute, accruals };
    }
    case 'AbuseFlagRaised': {
      const flag: Flag = { flagId: event.data.flagId, flagType: event.data.flagType, severity: event.data.severity, open: true };
      return { ...state, flags: [...state.flags, flag] };
    }
    case 'AbuseFlagCleared':
      return { ...state, flags: state.flags.map((flag) => (flag.flagId === event.data.flagId ? { ...flag, open: false } : flag)) };
    case 'PayoutRequested': {
      const accruals = claim(state.accruals, event.data.accruals, 1n);
      const payout: PayoutState = {
        payoutId: event.data.payoutId,
        status: 'requested',
        gateway: event.data.gateway,
        address: event.data.address,
        idempotencyKey: event.data.idempotencyKey,
        attempts: 0,
        attemptsSinceRetry: 0,
        retried: false,
        nextAttemptAt: null,
        sentBlockHash: null,
        kills: BigInt(event.data.kills),
        amountRaw: BigInt(event.data.amountRaw),
        accruals: event.data.accruals,
      };
      return { ...state, accruals, payouts: state.payouts.set(payout.payoutId, payout) };
    }
    case 'PayoutSent':
      return updatePayout(state, event.data.payoutId, (payout) => ({ ...payout, status: 'sent', nextAttemptAt: null, sentBlockHash: event.data.blockHash }));
    case 'PayoutAttemptFailed':
      return updatePayout(state, event.data.payoutId, (payout) => ({
        ...payout,
        attempts: Math.max(payout.attempts, event.data.attempt),
        attemptsSinceRetry: payout.attemptsSinceRetry + 1,
        nextAttemptAt: event.data.nextAttemptAt,
      }));
    case 'PayoutFailed':
      return updatePayout(state, event.data.payoutId, (payout) => ({ ...payout, status: 'failed', retried: false, nextAttemptAt: null }));
    case 'PayoutRetryRequested':
      return updatePayout(state, event.data.payoutId, (payout) => ({ ...payout, status: 'requested', attemptsSinceRetry: 0, retried: true, nextAttemptAt: null }));
    case 'PayoutCancelled': {
      // Only a cancellation gives kills back (SPEC §4.3): they may be claimed again, under the same
      // key, since a cancelled payout is not live.
      const accruals = claim(state.accruals, event.data.accruals, -1n);
      return { ...updatePayout(state, event.data.payoutId, (payout) => ({ ...payout, status: 'cancelled', nextAttemptAt: null })), accruals };
    }
    default: {
      const unreachable: never = event;
      throw new Error(`Unknown user event ${JSON.stringify(unreachable)}`);
    }
  }
}

export function decide(command: UserCommand, state: UserState): UserEvent[] {
  if (command.type === 'RegisterUser') {
    // Registering again asks for what is already true. The user id is derived from the Discord
    // id, so a registered stream always holds the same Discord id.
    if (state.status === 'registered') return [];
    const { userId, discordUserId, regionCode, now } = command.data;
    return [{ type: 'UserRegistered', data: { userId, discordUserId, regionCode, registeredAt: now.toISOString() } }];
  }
  if (state.status !== 'registered') throw new NotFoundError('user_not_found', 'No such user');
  switch (command.type) {
    case 'LinkEpicAccount':
      return linkEpicAccount(command.data, state);
    case 'RecordVerification':
      return recordVerification(command.data, state);
    case 'LinkWallet':
      return linkWallet(command.data, state);
    case 'VerifyWallet':
      return verifyWallet(command.data, state);
    case 'ObserveKills':
      return observeKills(command.data, state);
    case 'ClearAbuseFlag':
      return clearAbuseFlag(command.data, state);
    case 'RequestPayout':
      return requestPayout(command.data, state);
    case 'RecordPayoutSent':
      return recordPayoutSent(command.data, state);
    case 'RecordPayoutAttemptFailed':
      return recordPayoutAttemptFailed(command.data, state);
    case 'RetryPayout':
      return retryPayout(command.data, state);
    case 'CancelPayout':
      return cancelPayout(command.data, state);
    default: {
      const unreachable: never = command;
      throw new Error(`Unknown user command ${JSON.stringify(unreachable)}`);
    }
  }
}

function linkEpicAccount(command: LinkEpicAccount['data'], state: RegisteredUser): UserEvent[] {
  const at = command.now.toISOString();
  if (state.epic?.epicAccountId === command.epicAccountId) {
    // Linked already: nothing is linked again, and the baseline stays. But the trusted integration
    // vouches for the link (SPEC §4.1), so a last verification that is not ok (Yunite said
    // otherwise since) becomes ok again: without it, only a link of another account could make the
    // user payable again, say while Yunite is switched off.
    return state.verification === 'ok' ? [] : [verification(state, 'integration', 'ok', command.epicAccountId, null, at)];
  }
  if (command.linkedToAnotherUser) {
    throw new DomainError('epic_account_already_linked', 'This Epic account is linked to another user', 409);
  }
  return [
    ...accrueDeferredKills(state, command.now, command.rate),
    epicLinked(state, command.epicAccountId, command.baselineKills, command.formerHolderMark, 'integration', at),
    verification(state, 'integration', 'ok', command.epicAccountId, null, at),
  ];
}

function recordVerification(command: RecordVerification['data'], state: RegisteredUser): UserEvent[] {
  const at = command.now.toISOString();
  const finding = command.finding;
  if (finding.kind === 'not_linked') return [verification(state, 'yunite', 'no_epic_link', null, null, at)];
  if (state.epic?.epicAccountId === finding.epicAccountId) {
    return [verification(state, 'yunite', 'ok', finding.epicAccountId, null, at)];
  }
  if (finding.linkedToAnotherUser) {
    return [verification(state, 'yunite', 'error', finding.epicAccountId, 'epic_account_already_linked', at)];
  }
  // A new or changed Epic account needs its baseline; without one nothing is linked (SPEC §4.1).
  if (finding.baseline === null || 'error' in finding.baseline) {
    const detail = finding.baseline === null ? 'baseline_unavailable' : finding.baseline.error;
    return [verification(state, 'yunite', 'error', finding.epicAccountId, detail, at)];
  }
  const status: VerificationStatus = state.epic === null ? 'ok' : 'epic_changed';
  return [
    ...accrueDeferredKills(state, command.now, command.rate),
    verification(state, 'yunite', status, finding.epicAccountId, state.epic === null ? null : `was ${state.epic.epicAccountId}`, at),
    epicLinked(state, finding.epicAccountId, finding.baseline.kills, finding.formerHolderMark, 'yunite', at),
  ];
}

function linkWallet(command: LinkWallet['data'], state: RegisteredUser): UserEvent[] {
  if (state.wallet?.address === command.address) return [];
  const at = command.now.toISOString();
  const events: UserEvent[] = [{ type: 'WalletLinked', data: { userId: state.userId, address: command.address, linkedAt: at } }];
  if (command.primaryForAnotherUser) {
    events.push(...raiseFlag(state, 'shared_wallet', 'low', `${command.address} is the primary wallet of another user`, at));
  }
  return events;
}

function verifyWallet(command: VerifyWallet['data'], state: RegisteredUser): UserEvent[] {
  if (state.wallet === null || state.wallet.address !== command.address) {
    throw new DomainError('wallet_not_linked', 'Only the linked primary wallet can be verified; link it first');
  }
  if (!command.message.includes(state.userId)) {
    throw new DomainError('invalid_wallet_message', 'The signed message must contain the user id, so it cannot be replayed for another user');
  }
  if (!command.signatureValid) {
    throw new DomainError('invalid_wallet_signature', 'The signature is not the wallet key’s signature of this message');
  }
  if (state.wallet.verified) return [];
  return [
    {
      type: 'WalletVerified',
      data: {
        userId: state.userId,
        address: command.address,
        message: command.message,
        signature: command.signature,
        verifiedAt: command.now.toISOString(),
      },
    },
  ];
}

function observeKills(command: ObserveKills['data'], state: RegisteredUser): UserEvent[] {
  if (state.epic === null || state.accruedHighWater === null) {
    throw new DomainError('epic_account_not_linked', 'Link an Epic account first: its baseline decides which kills are new');
  }
  // A count of another account than the one linked now (a poller that listed the user before the
  // link changed) would be measured against the new account's baseline: kills it never made.
  if (command.epicAccountId !== undefined && command.epicAccountId !== state.epic.epicAccountId) {
    throw new DomainError('epic_account_changed', `The count is of Epic account ${command.epicAccountId}, which the user no longer links`, 409);
  }
  const observedAt = command.observedAt ?? stampedObservationTime(command.now, state.lastObservedAt);
  if (command.observedAt !== null) {
    if (observedAt.getTime() > command.now.getTime() + OBSERVED_AT_FUTURE_MAX_MS) {
      throw new DomainError('observed_at_in_future', 'observedAt is more than 60 s ahead of the ledger clock');
    }
    if (state.lastObservedAt !== null && observedAt.getTime() < Date.parse(state.lastObservedAt)) {
      throw new DomainError('observed_at_before_previous', `observedAt is earlier than the previous observation (${state.lastObservedAt})`);
    }
  }
  const at = command.now.toISOString();
  const minute = epochMinute(observedAt);
  const lifetime = command.lifetimeKills;
  const highWater = state.accruedHighWater;
  const delta = lifetime - highWater;
  const impossible = delta > command.abuse.maxKillsPerObservation;
  const events: UserEvent[] = [
    {
      type: 'KillsObserved',
      data: {
        userId: state.userId,
        epicAccountId: state.epic.epicAccountId,
        lifetimeKills: Number(lifetime),
        observedAt: observedAt.toISOString(),
        epochMinute: minute,
        skippedUpToKillCount: impossible ? Number(lifetime) : null,
      },
    },
  ];
  if (delta < 0n) {
    events.push(...raiseFlag(state, 'kills_decreased', 'med', `lifetime kills ${lifetime} below the accrued ${highWater}`, at));
    return events;
  }
  if (delta === 0n) return events;
  if (impossible) {
    // The observation accrues nothing (SPEC §4.2), and its kills are skipped for good: were the
    // high-water mark left behind, every later observation would be impossible too.
    events.push(...raiseFlag(state, 'impossible_delta', 'high', `${delta} kills in one observation (limit ${command.abuse.maxKillsPerObservation}); skipped up to ${lifetime}`, at));
    return events;
  }
  // Every observation is judged, the one that only waits for a later minute too: its kills were
  // made by now, whenever they accrue.
  const spike = killRateSpike(state, lifetime, observedAt, command.abuse.killRatePerMinute, at);
  // One accrual per (user, minute): a second observation in that minute only waits. A does not
  // move, so its kills are counted by the next observation in a later minute. (The last accrual's
  // minute can be later than the observation's: see accrueDeferredKills.)
  if (state.lastAccrualMinute !== null && minute <= state.lastAccrualMinute) return [...events, ...spike];
  events.push(accrualRecorded(state, minute, highWater, lifetime, command.rate, at));
  return [...events, ...spike];
}

/**
 * kill_rate_spike (SPEC §4.2): more than killRatePerMinute × 15 kills in the 15 minutes up to the
 * observation. The ledger knows a player's count only when it is observed, so the kills new since
 * the last count known (the previous observation, or the link's baseline) were made at some time in
 * between: they are spread evenly over that interval, and the part inside the window counts. So a
 * burst between two close observations is counted in full, and the kills of a day observed after a
 * day without a poll count for 15 minutes of it, not all at once. Kills observed at the instant of
 * the previous count, or before the link (a poller backfilling), count in full.
 */
function killRateSpike(state: RegisteredUser, lifetime: bigint, observedAt: Date, killRatePerMinute: bigint, at: string): UserEvent[] {
  const observedAtMs = observedAt.getTime();
  const windowKills = killsInWindow(observedKills(state, lifetime, observedAtMs).recent, observedAtMs - SPIKE_WINDOW_MS);
  const limit = killRatePerMinute * BigInt(SPIKE_WINDOW_MINUTES);
  if (windowKills <= limit) return [];
  return raiseFlag(state, 'kill_rate_spike', 'med', `${windowKills} kills in the ${SPIKE_WINDOW_MINUTES} minutes to ${observedAt.toISOString()} (limit ${limit})`, at);
}

/**
 * The last count known and the recent kills after an observation of `lifetime` at `atMs`. A count
 * below the last one known (a stale reading) tells nothing of when kills were made, and changes
 * neither. Kills that can no longer fall in the window of a later observation are dropped, and
 * the kills of an interval that ends within SPIKE_MERGE_SPAN_MS of the start of the one before are
 * added to it, so a player observed every second holds a few dozen intervals, not thousands.
 */
function observedKills(state: RegisteredUser, lifetime: bigint, atMs: number): { readonly point: KillPoint | null; readonly recent: readonly ObservedKills[] } {
  const recent = state.recentKills.filter((kills) => kills.toMs > atMs - SPIKE_WINDOW_MS);
  const point = state.killPoint;
  if (point === null) return { point: { count: lifetime, atMs }, recent };
  if (lifetime < point.count) return { point, recent };
  const kills = lifetime - point.count;
  const next = { count: lifetime, atMs: Math.max(point.atMs, atMs) };
  if (kills === 0n) return { point: next, recent };
  const last = recent.at(-1);
  if (last !== undefined && atMs - last.fromMs <= SPIKE_MERGE_SPAN_MS) {
    return { point: next, recent: [...recent.slice(0, -1), { fromMs: last.fromMs, toMs: atMs, kills: last.kills + kills }] };
  }
  return { point: next, recent: [...recent, { fromMs: point.atMs, toMs: atMs, kills }] };
}

/** The kills made from `windowStartMs` on, each interval's kills spread evenly over it (rounded down). */
function killsInWindow(recent: readonly ObservedKills[], windowStartMs: number): bigint {
  let total = 0n;
  for (const { fromMs, toMs, kills } of recent) {
    if (toMs <= windowStartMs) continue;
    total += fromMs >= windowStartMs || toMs <= fromMs ? kills : (kills * BigInt(toMs - windowStartMs)) / BigInt(toMs - fromMs);
  }
  return total;
}

/** The accrual of the kills from `fromKillCount` to `toKillCount` in `minute`, at the rate of the moment. */
function accrualRecorded(state: RegisteredUser, minute: number, fromKillCount: bigint, toKillCount: bigint, factors: RateFactors, at: string): UserEvent {
  const kills = toKillCount - fromKillCount;
  const rate = ratePerKillRaw(factors);
  return {
    type: 'AccrualRecorded',
    data: {
      accrualId: accrualIdFor(state.userId, minute),
      userId: state.userId,
      epochMinute: minute,
      kills: Number(kills),
      fromKillCount: Number(fromKillCount),
      toKillCount: Number(toKillCount),
      ratePerKillRaw: rate.toString(),
      baseRatePerKillRaw: factors.baseRaw.toString(),
      milestoneMultiplier: factors.milestoneMultiplier,
      sustainabilityFactor: factors.sustainabilityFactor,
      amountRaw: (kills * rate).toString(),
      recordedAt: at,
    },
  };
}

/**
 * The kills of the account linked now that an observation in the minute of the last accrual
 * deferred (SPEC §4.2: they accrue with the next observation in a later minute), accrued before
 * another account is linked: every later observation is of the new account, so they would never
 * accrue. The accrual takes the first minute from now that has none (the next minute when the last
 * accrual is of this one) and the rate in force.
 */
function accrueDeferredKills(state: RegisteredUser, now: Date, rate: RateFactors): UserEvent[] {
  const { killPoint, accruedHighWater, lastAccrualMinute } = state;
  if (killPoint === null || accruedHighWater === null || killPoint.count <= accruedHighWater) return [];
  const nowMinute = epochMinute(now);
  const minute = lastAccrualMinute !== null && lastAccrualMinute >= nowMinute ? lastAccrualMinute + 1 : nowMinute;
  return [accrualRecorded(state, minute, accruedHighWater, killPoint.count, rate, now.toISOString())];
}

/**
 * The time the ledger gives an observation sent without one: now, or the user's previous
 * observation's time when that is later. The request never chose a time, so it is never refused
 * for one. The previous time can be later than now when a client sent a time up to 60 s ahead,
 * when another instance's clock runs ahead, or when a concurrent observation was appended first
 * (this one is then decided again after `now` was read).
 */
function stampedObservationTime(now: Date, lastObservedAt: string | null): Date {
  const last = lastObservedAt === null ? Number.NEGATIVE_INFINITY : Date.parse(lastObservedAt);
  return last > now.getTime() ? new Date(last) : now;
}

function clearAbuseFlag(command: ClearAbuseFlag['data'], state: RegisteredUser): UserEvent[] {
  const flag = state.flags.find((candidate) => candidate.flagId === command.flagId);
  if (flag === undefined) throw new NotFoundError('abuse_flag_not_found', 'No such flag on this user');
  if (!flag.open) return [];
  return [
    { type: 'AbuseFlagCleared', data: { flagId: flag.flagId, userId: state.userId, reason: command.reason, clearedAt: command.now.toISOString() } },
  ];
}

function requestPayout(command: RequestPayout['data'], state: RegisteredUser): UserEvent[] {
  // This very payout was requested already, and the request is delivered again: it asks for what
  // was true, whatever became of the payout since. A cancelled one stays cancelled: requested a
  // second time, it would claim its kills again under the id the cancel closed, while the payouts
  // read model keeps its first row and says cancelled. Another request under a known id is a bug.
  const known = state.payouts.get(command.payoutId);
  if (known !== undefined) {
    if (known.idempotencyKey !== command.idempotencyKey) {
      throw new Error(`Payout ${command.payoutId} was requested already, with another key`);
    }
    return [];
  }
  // A payout with this key is live already: the request repeats it and decides nothing (§4.3).
  // A cancelled payout is not live: its kills may be claimed again, under the same key.
  if (state.payouts.some((payout) => payout.status !== 'cancelled' && payout.idempotencyKey === command.idempotencyKey)) return [];
  // A failed payout keeps its claim and waits for an admin, so it blocks the next one as well.
  if (state.payouts.some((payout) => payout.status === 'requested' || payout.status === 'failed')) {
    throw new DomainError('payout_in_flight', 'The user has a payout in flight or failed; settle it first', 409);
  }
  const ineligible = payoutIneligibility(command, state);
  if (ineligible !== null) throw new DomainError('stale_settlement_plan', ineligible, 409);
  const covered = command.accruals.reduce((sum, accrual) => sum + accrual.kills, 0n);
  if (covered !== command.kills || command.kills <= 0n || command.amountRaw <= 0n) {
    throw new Error(`A payout must cover exactly its kills: ${command.kills} claimed, ${covered} covered`);
  }
  for (const accrual of command.accruals) {
    const known = state.accruals.get(accrual.accrualId);
    if (known === undefined || known.kills - known.claimed < accrual.kills) {
      // The plan was made from read models that had not caught up with this stream.
      throw new DomainError('stale_settlement_plan', `Accrual ${accrual.accrualId} has fewer unclaimed kills than planned`, 409);
    }
  }
  return [
    {
      type: 'PayoutRequested',
      data: {
        payoutId: command.payoutId,
        userId: state.userId,
        runId: command.runId,
        gateway: command.gateway,
        address: command.address,
        kills: Number(command.kills),
        amountRaw: command.amountRaw.toString(),
        idempotencyKey: command.idempotencyKey,
        accruals: command.accruals.map((accrual) => ({ accrualId: accrual.accrualId, kills: Number(accrual.kills) })),
        requestedAt: command.now.toISOString(),
      },
    },
  ];
}

/**
 * Why the user cannot be paid now, or null. The settlement plan chose the user and the address
 * from read models, which may not have applied the stream's latest events yet: a new wallet, a
 * high flag raised, a failed verification. The stream is the truth, so it checks them again
 * (SPEC §4.1: payouts requested after a wallet is linked go to it; §4.2: an open high flag
 * stops settlement; §4.3: eligibility). The user rolls over to a run that sees them.
 */
function payoutIneligibility(command: RequestPayout['data'], state: RegisteredUser): string | null {
  if (state.epic === null || state.verification !== 'ok') return `The user's verification is ${state.verification ?? 'missing'}, not ok`;
  if (state.wallet === null || state.wallet.address !== command.address) return `The planned address ${command.address} is not the user's primary wallet`;
  if (command.requireVerifiedWallet && !state.wallet.verified) return 'The primary wallet is not verified';
  if (state.flags.some((flag) => flag.open && flag.severity === 'high')) return 'The user has an open high abuse flag';
  return null;
}

function recordPayoutSent(command: RecordPayoutSent['data'], state: RegisteredUser): UserEvent[] {
  const payout = findPayout(state, command.payoutId);
  if (payout.status === 'sent') return [];
  // Cancelling is only allowed once every block of the payout was refused, so a block of a
  // cancelled payout on the chain is a fault an operator must see, never a quiet success.
  if (payout.status === 'cancelled') throw new DomainError('payout_cancelled', `Payout ${payout.payoutId} was cancelled`, 409);
  // A live payout may have a block in flight, so a dry-run hash must never settle it; a dry-run
  // one was budgeted against a simulated balance, so no chain block may settle it either.
  if (payout.gateway !== command.gateway) {
    throw new DomainError('payout_gateway_mismatch', `Payout ${payout.payoutId} is a ${payout.gateway} payout, not ${command.gateway}`, 409);
  }
  // A failed payout's block found on the chain after all is sent: the chain is the truth.
  return [
    {
      type: 'PayoutSent',
      data: {
        payoutId: payout.payoutId,
        userId: state.userId,
        blockHash: command.blockHash,
        kills: Number(payout.kills),
        amountRaw: payout.amountRaw.toString(),
        accruals: payout.accruals,
        sentAt: command.now.toISOString(),
      },
    },
  ];
}

function recordPayoutAttemptFailed(command: RecordPayoutAttemptFailed['data'], state: RegisteredUser): UserEvent[] {
  const payout = findPayout(state, command.payoutId);
  // The attempt was recorded already (an executor that crashed after appending), or the payout has
  // moved on: nothing to decide.
  if (payout.status !== 'requested' || command.attempt <= payout.attempts) return [];
  if (command.attempt !== payout.attempts + 1) throw new Error(`Attempt ${command.attempt} of payout ${payout.payoutId} skips attempt ${payout.attempts + 1}`);
  const failedInARow = payout.attemptsSinceRetry + 1;
  const last = failedInARow >= command.policy.maxAttempts;
  const backoffMs = Math.min(command.policy.backoffBaseMs * 2 ** (failedInARow - 1), command.policy.backoffMaxMs);
  const failedAt = command.now.toISOString();
  const events: UserEvent[] = [
    {
      type: 'PayoutAttemptFailed',
      data: {
        payoutId: payout.payoutId,
        userId: state.userId,
        attempt: command.attempt,
        error: command.error,
        blockHash: command.blockHash,
        failedAt,
        nextAttemptAt: last ? null : new Date(command.now.getTime() + backoffMs).toISOString(),
      },
    },
  ];
  if (last) {
    events.push({ type: 'PayoutFailed', data: { payoutId: payout.payoutId, userId: state.userId, attempts: command.attempt, error: command.error, failedAt } });
  }
  return events;
}

function retryPayout(command: RetryPayout['data'], state: RegisteredUser): UserEvent[] {
  const payout = findPayout(state, command.payoutId);
  // Pending again after a retry (two admins at once, or a client that repeats the request): what
  // the retry asks for is already true, so it decides nothing (STYLE habit 4).
  if (payout.status === 'requested' && payout.retried) return [];
  if (payout.status !== 'failed') {
    throw new DomainError('payout_not_failed', `Payout ${payout.payoutId} is ${payout.status}; only a failed payout can be retried`, 409);
  }
  return [{ type: 'PayoutRetryRequested', data: { payoutId: payout.payoutId, userId: state.userId, requestedAt: command.now.toISOString() } }];
}

function cancelPayout(command: CancelPayout['data'], state: RegisteredUser): UserEvent[] {
  const payout = findPayout(state, command.payoutId);
  // Cancelled already: the kills are released once, and the first reason stays the record.
  if (payout.status === 'cancelled') return [];
  // Only a failed payout has no block that may still confirm: every attempt was refused by the
  // node. Cancelling a requested one could release kills that a published block is paying.
  if (payout.status !== 'failed') {
    throw new DomainError('payout_not_failed', `Payout ${payout.payoutId} is ${payout.status}; only a failed payout can be cancelled`, 409);
  }
  return [
    {
      type: 'PayoutCancelled',
      data: {
        payoutId: payout.payoutId,
        userId: state.userId,
        reason: command.reason,
        kills: Number(payout.kills),
        amountRaw: payout.amountRaw.toString(),
        accruals: payout.accruals,
        cancelledAt: command.now.toISOString(),
      },
    },
  ];
}

function findPayout(state: RegisteredUser, payoutId: string): PayoutState {
  const payout = state.payouts.get(payoutId);
  if (payout === undefined) throw new NotFoundError('payout_not_found', `No payout ${payoutId} for this user`);
  return payout;
}

/** The accruals with `covered` claimed (sign 1n) or given back (-1n); an accrual not known is left out. */
function claim(
  accruals: OrderedMap<string, AccrualClaims>,
  covered: ReadonlyArray<{ readonly accrualId: string; readonly kills: number }>,
  sign: 1n | -1n,
): OrderedMap<string, AccrualClaims> {
  return accruals.withMutations((draft) => {
    for (const { accrualId, kills } of covered) {
      const accrual = draft.get(accrualId);
      if (accrual !== undefined) draft.set(accrualId, { ...accrual, claimed: accrual.claimed + sign * BigInt(kills) });
    }
  });
}

function updatePayout(state: RegisteredUser, payoutId: string, change: (payout: PayoutState) => PayoutState): RegisteredUser {
  const payout = state.payouts.get(payoutId);
  return payout === undefined ? state : { ...state, payouts: state.payouts.set(payoutId, change(payout)) };
}

/**
 * The link of an Epic account. Its baseline is the count read at link time, but never below what
 * the user already accrued of that account when it was linked before: a lifetime count never
 * falls, so a lower one is a stale reading, and it would accrue those kills a second time.
 */
function epicLinked(
  state: RegisteredUser,
  epicAccountId: string,
  baselineRead: bigint,
  formerHolderMark: EpicAccountMark | null,
  source: VerificationSource,
  at: string,
): UserEvent {
  const accruedBefore = state.formerHighWater.get(epicAccountId) ?? 0n;
  const baseline = baselineRead > accruedBefore ? baselineRead : accruedBefore;
  const data = { userId: state.userId, epicAccountId, baselineKills: Number(baseline), source, linkedAt: at };
  // The same holds across users: another user accrued the account's kills up to its mark. The
  // event names that user, since the count comes from their stream, not this one.
  if (formerHolderMark !== null && formerHolderMark.userId !== state.userId && formerHolderMark.killCount > baseline) {
    const killCount = Number(formerHolderMark.killCount);
    return { type: 'EpicAccountLinked', data: { ...data, baselineKills: killCount, baselineFloor: { userId: formerHolderMark.userId, killCount } } };
  }
  return { type: 'EpicAccountLinked', data };
}

function verification(
  state: RegisteredUser,
  source: VerificationSource,
  status: VerificationStatus,
  epicAccountId: string | null,
  detail: string | null,
  at: string,
): UserEvent {
  return { type: 'VerificationRecorded', data: { userId: state.userId, source, status, epicAccountId, detail, verifiedAt: at } };
}

/** A flag, unless one of the same type is still open (SPEC §4.2: de-duplicated per open type). */
function raiseFlag(state: RegisteredUser, flagType: AbuseFlagType, severity: AbuseSeverity, detail: string, at: string): UserEvent[] {
  if (state.flags.some((flag) => flag.open && flag.flagType === flagType)) return [];
  return [
    {
      type: 'AbuseFlagRaised',
      data: { flagId: flagIdFor(state.userId, state.flags.length), userId: state.userId, flagType, severity, detail, raisedAt: at },
    },
  ];
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState,
  evolve,
  decide,
  decode: decodeUserEvent,
};
