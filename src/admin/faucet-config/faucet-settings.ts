import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { fold } from '../../platform/decider';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { faucetConfigDecider, payoutSettingsInForce, schedulerSettingsInForce } from './faucet-config.decider';
import { FAUCET_CONFIG_STREAM, type PayoutSettings, type SchedulerSettings } from './faucet-config.events';

/** The settings in force, in the types the rules use. */
export interface FaucetSettingsInForce {
  readonly payout: {
    readonly banPerKillRaw: bigint;
    readonly dailyKillCap: number;
    readonly weeklyKillCap: number;
    readonly minOperatorBalanceRaw: bigint;
  };
  readonly scheduler: SchedulerSettings;
  /** The last change an admin made, or null while the environment's values are all in force. */
  readonly lastChange: { readonly type: string; readonly at: string; readonly actor: string; readonly position: string } | null;
}

/** The environment's values, the defaults under every admin change. */
export function defaultPayoutSettings(config: LedgerConfig): PayoutSettings {
  return {
    banPerKillRaw: config.payout.banPerKillRaw.toString(),
    dailyKillCap: config.payout.dailyKillCap,
    weeklyKillCap: config.payout.weeklyKillCap,
    minOperatorBalanceRaw: config.payout.minOperatorBalanceRaw.toString(),
  };
}

export function defaultSchedulerSettings(config: LedgerConfig): SchedulerSettings {
  return { settlementIntervalSeconds: Math.floor(config.settlement.intervalMs / 1000), settlementBatchSize: config.settlement.batchSize };
}

/**
 * What `PayoutConfigChanged` and `SchedulerConfigChanged` left in force (SPEC §4.6: a change takes
 * effect at the next accrual or run). It folds the `faucet-config` stream on every call rather
 * than reading a read model, so the accrual right after an admin's change already uses it, in
 * every process; the stream holds one event per admin change, so the read stays small.
 */
@Injectable()
export class FaucetSettings {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async current(): Promise<FaucetSettingsInForce> {
    const history = await this.store.readStream(FAUCET_CONFIG_STREAM);
    const state = fold(faucetConfigDecider, history);
    const payout = payoutSettingsInForce(state, defaultPayoutSettings(this.config));
    const last = history.at(-1);
    return {
      payout: {
        banPerKillRaw: BigInt(payout.banPerKillRaw),
        dailyKillCap: payout.dailyKillCap,
        weeklyKillCap: payout.weeklyKillCap,
        minOperatorBalanceRaw: BigInt(payout.minOperatorBalanceRaw),
      },
      scheduler: schedulerSettingsInForce(state, defaultSchedulerSettings(this.config)),
      lastChange: last === undefined ? null : { type: last.type, at: last.createdAt.toISOString(), actor: last.metadata.actor.name, position: last.position.toString() },
    };
  }
}

/** Global, because accruals (rewards), settlement (payouts) and the admin routes all read it. */
@Global()
@Module({ providers: [FaucetSettings], exports: [FaucetSettings] })
export class FaucetSettingsModule {}
