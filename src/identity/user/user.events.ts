/**
 * Events of the `user-<userId>` stream (SPEC §3). Type names are frozen forever; a change of
 * shape gets a new schema version and a decoder that upgrades the old one.
 * This is the only domain file projections import.
 *
 * Kill counts are JSON integers (checked to be safe integers when decoded, then bigint in code);
 * amounts are decimal strings of raw; times are ISO-8601 UTC strings.
 */

import { int, nullableStr, oneOf, rawStr, str, type StoredData } from '../../platform/event-store/stored-fields';

export const USER_EVENT_SCHEMA_VERSION = 1;

export type VerificationStatus = 'ok' | 'no_epic_link' | 'epic_changed' | 'error';
export type VerificationSource = 'integration' | 'yunite';
export type AbuseFlagType = 'kill_rate_spike' | 'impossible_delta' | 'kills_decreased' | 'shared_wallet';
export type AbuseSeverity = 'low' | 'med' | 'high';

export interface UserRegistered {
  readonly type: 'UserRegistered';
  readonly data: {
    readonly userId: string;
    readonly discordUserId: string;
    readonly regionCode: string | null;
    readonly registeredAt: string;
  };
}

export interface EpicAccountLinked {
  readonly type: 'EpicAccountLinked';
  readonly data: {
    readonly userId: string;
    readonly epicAccountId: string;
    /** Lifetime kills at link time: kills up to here are never paid. */
    readonly baselineKills: number;
    readonly source: VerificationSource;
    readonly linkedAt: string;
    /**
     * Only when another user who held the account before had accrued its kills up to more than the
     * count read: that user, and that count, which is the baseline (a lifetime count never falls).
     */
    readonly baselineFloor?: { readonly userId: string; readonly killCount: number };
  };
}

export interface VerificationRecorded {
  readonly type: 'VerificationRecorded';
  readonly data: {
    readonly userId: string;
    readonly source: VerificationSource;
    readonly status: VerificationStatus;
    readonly epicAccountId: string | null;
    readonly detail: string | null;
    readonly verifiedAt: string;
  };
}

export interface WalletLinked {
  readonly type: 'WalletLinked';
  readonly data: { readonly userId: string; readonly address: string; readonly linkedAt: string };
}

export interface WalletVerified {
  readonly type: 'WalletVerified';
  readonly data: {
    readonly userId: string;
    readonly address: string;
    readonly message: string;
    readonly signature: string;
    readonly verifiedAt: string;
  };
}

export interface KillsObserved {
  readonly type: 'KillsObserved';
  readonly data: {
    readonly userId: string;
    readonly epicAccountId: string;
    readonly lifetimeKills: number;
    readonly observedAt: string;
    readonly epochMinute: number;
    /**
     * Set when the observation was an impossible delta: the accrued high-water mark moves up to
     * this count without an accrual, so those kills are never paid. Null otherwise.
     */
    readonly skippedUpToKillCount: number | null;
  };
}

export interface AccrualRecorded {
  readonly type: 'AccrualRecorded';
  readonly data: {
    readonly accrualId: string;
    readonly userId: string;
    readonly epochMinute: number;
    readonly kills: number;
    readonly fromKillCount: number;
    readonly toKillCount: number;
    readonly ratePerKillRaw: string;
    readonly baseRatePerKillRaw: string;
    readonly milestoneMultiplier: string;
    readonly sustainabilityFactor: string;
    readonly amountRaw: string;
    readonly recordedAt: string;
  };
}

export interface AbuseFlagRaised {
  readonly type: 'AbuseFlagRaised';
  readonly data: {
    readonly flagId: string;
    readonly userId: string;
    readonly flagType: AbuseFlagType;
    readonly severity: AbuseSeverity;
    readonly detail: string;
    readonly raisedAt: string;
  };
}

export interface AbuseFlagCleared {
  readonly type: 'AbuseFlagCleared';
  readonly data: { readonly flagId: string; readonly userId: string; readonly reason: string; readonly clearedAt: string };
}

export interface CoveredAccrualData {
  readonly accrualId: string;
  readonly kills: number;
}

/** How a payout is sent: planned against the simulated balance, or to be signed on chain. */
export type PayoutGateway = 'dry-run' | 'live';

export interface PayoutRequested {
  readonly type: 'PayoutRequested';
  readonly data: {
    readonly payoutId: string;
    readonly userId: string;
    readonly runId: string;
    /** Only an executor of this gateway sends it (a payout never changes gateway). */
    readonly gateway: PayoutGateway;
    readonly address: string;
    /** The kills this payout claims: they count against the caps whatever becomes of it. */
    readonly kills: number;
    readonly amountRaw: string;
    readonly idempotencyKey: string;
    readonly accruals: readonly CoveredAccrualData[];
    readonly requestedAt: string;
  };
}

export interface PayoutSent {
  readonly type: 'PayoutSent';
  readonly data: {
    readonly payoutId: string;
    readonly userId: string;
    readonly blockHash: string;
    readonly kills: number;
    readonly amountRaw: string;
    /** The accruals the payout covered, repeated so readers need not look the request up. */
    readonly accruals: readonly CoveredAccrualData[];
    readonly sentAt: string;
  };
}

export interface PayoutAttemptFailed {
  readonly type: 'PayoutAttemptFailed';
  readonly data: {
    readonly payoutId: string;
    readonly userId: string;
    /** Counts every attempt of the payout, across admin retries; the signed block names its attempt. */
    readonly attempt: number;
    readonly error: string;
    /** The block the node refused, or null when the attempt failed before a block was signed. */
    readonly blockHash: string | null;
    readonly failedAt: string;
    /** When the executor may try again; null when this was the last attempt (PayoutFailed follows). */
    readonly nextAttemptAt: string | null;
  };
}

export interface PayoutFailed {
  readonly type: 'PayoutFailed';
  readonly data: { readonly payoutId: string; readonly userId: string; readonly attempts: number; readonly error: string; readonly failedAt: string };
}

export interface PayoutRetryRequested {
  readonly type: 'PayoutRetryRequested';
  readonly data: { readonly payoutId: string; readonly userId: string; readonly requestedAt: string };
}

export interface PayoutCancelled {
  readonly type: 'PayoutCancelled';
  readonly data: {
    readonly payoutId: string;
    readonly userId: string;
    readonly reason: string;
    /** The kills and accruals the cancellation gives back, repeated so readers need not look them up. */
    readonly kills: number;
    readonly amountRaw: string;
    readonly accruals: readonly CoveredAccrualData[];
    readonly cancelledAt: string;
  };
}

export type UserEvent =
  | UserRegistered
  | EpicAccountLinked
  | VerificationRecorded
  | WalletLinked
  | WalletVerified
  | KillsObserved
  | AccrualRecorded
  | AbuseFlagRaised
  | AbuseFlagCleared
  | PayoutRequested
  | PayoutSent
  | PayoutAttemptFailed
  | PayoutFailed
  | PayoutRetryRequested
  | PayoutCancelled;

type Data = StoredData;

/**
 * Turns a stored event into a typed one, checking every field the fold and the projections rely
 * on. Unknown types yield null, so readers written before an event type existed skip it.
 */
export function decodeUserEvent(type: string, data: Data): UserEvent | null {
  switch (type) {
    case 'UserRegistered':
      return {
        type,
        data: {
          userId: str(data, 'userId'),
          discordUserId: str(data, 'discordUserId'),
          regionCode: nullableStr(data, 'regionCode'),
          registeredAt: str(data, 'registeredAt'),
        },
      };
    case 'EpicAccountLinked':
      return {
        type,
        data: {
          userId: str(data, 'userId'),
          epicAccountId: str(data, 'epicAccountId'),
          baselineKills: int(data, 'baselineKills'),
          source: oneOf(data, 'source', ['integration', 'yunite'] as const),
          linkedAt: str(data, 'linkedAt'),
          ...(data.baselineFloor === undefined ? {} : { baselineFloor: baselineFloor(data.baselineFloor) }),
        },
      };
    case 'VerificationRecorded':
      return {
        type,
        data: {
          userId: str(data, 'userId'),
          source: oneOf(data, 'source', ['integration', 'yunite'] as const),
          status: oneOf(data, 'status', ['ok', 'no_epic_link', 'epic_changed', 'error'] as const),
          epicAccountId: nullableStr(data, 'epicAccountId'),
          detail: nullableStr(data, 'detail'),
          verifiedAt: str(data, 'verifiedAt'),
        },
      };
    case 'WalletLinked':
      return { type, data: { userId: str(data, 'userId'), address: str(data, 'address'), linkedAt: str(data, 'linkedAt') } };
    case 'WalletVerified':
      return {
        type,
        data: {
          userId: str(data, 'userId'),
          address: str(data, 'address'),
          message: str(data, 'message'),
          signature: str(data, 'signature'),
          verifiedAt: str(data, 'verifiedAt'),
        },
      };
    case 'KillsObserved':
      return {
        type,
        data: {
          userId: str(data, 'userId'),
          epicAccountId: str(data, 'epicAccountId'),
          lifetimeKills: int(data, 'lifetimeKills'),
          observedAt: str(data, 'observedAt'),
          epochMinute: int(data, 'epochMinute'),
          skippedUpToKillCount: data.skippedUpToKillCount === null || data.skippedUpToKillCount === undefined ? null : int(data, 'skippedUpToKillCount'),
        },
      };
    case 'AccrualRecorded':
      return {
        type,
        data: {
          accrualId: str(data, 'accrualId'),
          userId: str(data, 'userId'),
          epochMinute: int(data, 'epochMinute'),
          kills: int(data, 'kills'),
          fromKillCount: int(data, 'fromKillCount'),
          toKillCount: int(data, 'toKillCount'),
          ratePerKillRaw: rawStr(data, 'ratePerKillRaw'),
          baseRatePerKillRaw: rawStr(data, 'baseRatePerKillRaw'),
          milestoneMultiplier: str(data, 'milestoneMultiplier'),
          sustainabilityFactor: str(data, 'sustainabilityFactor'),
          amountRaw: rawStr(data, 'amountRaw'),
          recordedAt: str(data, 'recordedAt'),
        },
      };
    case 'AbuseFlagRaised':
      return {
        type,
        data: {
          flagId: str(data, 'flagId'),
          userId: str(data, 'userId'),
          flagType: oneOf(data, 'flagType', ['kill_rate_spike', 'impossible_delta', 'kills_decreased', 'shared_wallet'] as const),
          severity: oneOf(data, 'severity', ['low', 'med', 'high'] as const),
          detail: str(data, 'detail'),
          raisedAt: str(data, 'raisedAt'),
        },
      };
    case 'AbuseFlagCleared':
      return {
        type,
        data: { flagId: str(data, 'flagId'), userId: str(data, 'userId'), reason: str(data, 'reason'), clearedAt: str(data, 'clearedAt') },
      };
    case 'PayoutRequested':
      return {
        type,
        data: {
          payoutId: str(data, 'payoutId'),
          userId: str(data, 'userId'),
          runId: str(data, 'runId'),
          // Payouts were only ever sent dry before the field existed.
          gateway: data.gateway === undefined ? 'dry-run' : oneOf(data, 'gateway', ['dry-run', 'live'] as const),
          address: str(data, 'address'),
          kills: int(data, 'kills'),
          amountRaw: rawStr(data, 'amountRaw'),
          idempotencyKey: str(data, 'idempotencyKey'),
          accruals: coveredAccruals(data),
          requestedAt: str(data, 'requestedAt'),
        },
      };
    case 'PayoutSent':
      return {
        type,
        data: {
          payoutId: str(data, 'payoutId'),
          userId: str(data, 'userId'),
          blockHash: str(data, 'blockHash'),
          kills: int(data, 'kills'),
          amountRaw: rawStr(data, 'amountRaw'),
          accruals: coveredAccruals(data),
          sentAt: str(data, 'sentAt'),
        },
      };
    case 'PayoutAttemptFailed':
      return {
        type,
        data: {
          payoutId: str(data, 'payoutId'),
          userId: str(data, 'userId'),
          attempt: int(data, 'attempt'),
          error: str(data, 'error'),
          blockHash: nullableStr(data, 'blockHash'),
          failedAt: str(data, 'failedAt'),
          nextAttemptAt: nullableStr(data, 'nextAttemptAt'),
        },
      };
    case 'PayoutFailed':
      return {
        type,
        data: {
          payoutId: str(data, 'payoutId'),
          userId: str(data, 'userId'),
          attempts: int(data, 'attempts'),
          error: str(data, 'error'),
          failedAt: str(data, 'failedAt'),
        },
      };
    case 'PayoutRetryRequested':
      return { type, data: { payoutId: str(data, 'payoutId'), userId: str(data, 'userId'), requestedAt: str(data, 'requestedAt') } };
    case 'PayoutCancelled':
      return {
        type,
        data: {
          payoutId: str(data, 'payoutId'),
          userId: str(data, 'userId'),
          reason: str(data, 'reason'),
          kills: int(data, 'kills'),
          amountRaw: rawStr(data, 'amountRaw'),
          accruals: coveredAccruals(data),
          cancelledAt: str(data, 'cancelledAt'),
        },
      };
    default:
      return null;
  }
}

function coveredAccruals(data: Data): CoveredAccrualData[] {
  const value = data.accruals;
  if (!Array.isArray(value)) throw new Error('Stored event field accruals is not an array');
  return value.map((item: unknown) => {
    const entry = (item ?? {}) as Data;
    return { accrualId: str(entry, 'accrualId'), kills: int(entry, 'kills') };
  });
}

function baselineFloor(value: unknown): { userId: string; killCount: number } {
  if (typeof value !== 'object' || value === null) throw new Error('Stored event field baselineFloor is not an object');
  const entry = value as Data;
  return { userId: str(entry, 'userId'), killCount: int(entry, 'killCount') };
}
