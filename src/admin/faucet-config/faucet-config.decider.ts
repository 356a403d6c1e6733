import { type Decider } from '../../platform/decider';
import { DomainError } from '../../platform/errors/domain-error';
import { RAW_PER_BAN } from '../../platform/money';
import {
  decodeFaucetConfigEvent,
  type FaucetConfigEvent,
  type PayoutSettings,
  type SchedulerSettings,
} from './faucet-config.events';

/** Bounds of each setting; the DTOs refuse the same values at the edge, the decider guards them here. */
export const FAUCET_CONFIG_BOUNDS = {
  /** A base reward above this per kill is a typo, not a policy. */
  banPerKillRawMax: 1_000n * RAW_PER_BAN,
  killCapMax: 1_000_000,
  minOperatorBalanceRawMax: 10_000_000_000n * RAW_PER_BAN,
  settlementIntervalSecondsMax: 604_800,
  settlementBatchSizeMax: 1_000_000,
} as const;

/** Reward amounts are multiples of 10^-8 BAN (SPEC §2). */
const RAW_PER_BAN_UNIT = 10n ** 21n;

/**
 * The settings admins changed, field by field. A field no admin has changed keeps the value of
 * the environment the service runs with: the environment gives the defaults, the stream the
 * overrides, and an override stays until an admin changes it again.
 */
export interface FaucetConfigState {
  readonly payout: Partial<PayoutSettings>;
  readonly scheduler: Partial<SchedulerSettings>;
}

export type FaucetConfigCommand =
  | {
      readonly type: 'ChangePayoutConfig';
      readonly data: { readonly changes: Partial<PayoutSettings>; readonly defaults: PayoutSettings; readonly now: Date };
    }
  | {
      readonly type: 'ChangeSchedulerConfig';
      readonly data: { readonly changes: Partial<SchedulerSettings>; readonly defaults: SchedulerSettings; readonly now: Date };
    };

export const initialState: FaucetConfigState = { payout: {}, scheduler: {} };

export function evolve(state: FaucetConfigState, event: FaucetConfigEvent): FaucetConfigState {
  switch (event.type) {
    case 'PayoutConfigChanged':
      return { ...state, payout: { ...state.payout, ...event.data.changes } };
    case 'SchedulerConfigChanged':
      return { ...state, scheduler: { ...state.scheduler, ...event.data.changes } };
    default: {
      const unreachable: never = event;
      throw new Error(`Unknown faucet-config event ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The settings in force: the environment's defaults under the admins' overrides. */
export function payoutSettingsInForce(state: FaucetConfigState, defaults: PayoutSettings): PayoutSettings {
  return { ...defaults, ...state.payout };
}

export function schedulerSettingsInForce(state: FaucetConfigState, defaults: SchedulerSettings): SchedulerSettings {
  return { ...defaults, ...state.scheduler };
}

/**
 * A change to what an admin set already decides nothing (STYLE habit 4); otherwise one event with
 * the fields the stream does not hold yet, each with the value in force before. A value that only
 * the environment gave is recorded too: the environment of another process (`npm run
 * start:payouts`), or of this one after a restart, may give another, and the admin's must hold in
 * every process.
 */
export function decide(command: FaucetConfigCommand, state: FaucetConfigState): FaucetConfigEvent[] {
  switch (command.type) {
    case 'ChangePayoutConfig': {
      guardPayout(command.data.changes);
      const { changes, previous } = differences(command.data.changes, state.payout, payoutSettingsInForce(state, command.data.defaults));
      return changes === null ? [] : [{ type: 'PayoutConfigChanged', data: { changes, previous, changedAt: command.data.now.toISOString() } }];
    }
    case 'ChangeSchedulerConfig': {
      guardScheduler(command.data.changes);
      const { changes, previous } = differences(command.data.changes, state.scheduler, schedulerSettingsInForce(state, command.data.defaults));
      return changes === null ? [] : [{ type: 'SchedulerConfigChanged', data: { changes, previous, changedAt: command.data.now.toISOString() } }];
    }
    default: {
      const unreachable: never = command;
      throw new Error(`Unknown faucet-config command ${JSON.stringify(unreachable)}`);
    }
  }
}

function differences<S extends object>(requested: Partial<S>, recorded: Partial<S>, inForce: S): { changes: Partial<S> | null; previous: Partial<S> } {
  const changes: Partial<S> = {};
  const previous: Partial<S> = {};
  for (const key of Object.keys(requested) as Array<keyof S>) {
    const value = requested[key];
    if (value === undefined || value === recorded[key]) continue;
    changes[key] = value;
    previous[key] = inForce[key];
  }
  return { changes: Object.keys(changes).length === 0 ? null : changes, previous };
}

function guardPayout(changes: Partial<PayoutSettings>): void {
  if (changes.banPerKillRaw !== undefined) {
    const raw = BigInt(changes.banPerKillRaw);
    if (raw <= 0n || raw > FAUCET_CONFIG_BOUNDS.banPerKillRawMax || raw % RAW_PER_BAN_UNIT !== 0n) {
      throw new DomainError('invalid_ban_per_kill', `banPerKill must be above 0 and at most ${FAUCET_CONFIG_BOUNDS.banPerKillRawMax / RAW_PER_BAN} BAN, with at most 8 decimals`, 422);
    }
  }
  if (changes.minOperatorBalanceRaw !== undefined) {
    const raw = BigInt(changes.minOperatorBalanceRaw);
    if (raw > FAUCET_CONFIG_BOUNDS.minOperatorBalanceRawMax || raw % RAW_PER_BAN_UNIT !== 0n) {
      throw new DomainError('invalid_min_operator_balance_ban', `minOperatorBalanceBan must be at most ${FAUCET_CONFIG_BOUNDS.minOperatorBalanceRawMax / RAW_PER_BAN} BAN, with at most 8 decimals`, 422);
    }
  }
  guardCount(changes.dailyKillCap, FAUCET_CONFIG_BOUNDS.killCapMax, 'invalid_daily_kill_cap', 'dailyKillCap');
  guardCount(changes.weeklyKillCap, FAUCET_CONFIG_BOUNDS.killCapMax, 'invalid_weekly_kill_cap', 'weeklyKillCap');
}

function guardScheduler(changes: Partial<SchedulerSettings>): void {
  guardCount(changes.settlementIntervalSeconds, FAUCET_CONFIG_BOUNDS.settlementIntervalSecondsMax, 'invalid_settlement_interval_seconds', 'settlementIntervalSeconds');
  guardCount(changes.settlementBatchSize, FAUCET_CONFIG_BOUNDS.settlementBatchSizeMax, 'invalid_settlement_batch_size', 'settlementBatchSize');
}

function guardCount(value: number | undefined, max: number, code: string, name: string): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new DomainError(code, `${name} must be a whole number from 0 to ${max}`, 422);
}

export const faucetConfigDecider: Decider<FaucetConfigCommand, FaucetConfigEvent, FaucetConfigState> = {
  initialState,
  evolve,
  decide,
  decode: decodeFaucetConfigEvent,
};
