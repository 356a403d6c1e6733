import { randomBytes, randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool, type DatabasePoolConnection } from 'slonik';
import { runCachedUserCommand, UserStateCache } from '../../identity/user/user-state-cache';
import { FaucetSettings, type FaucetSettingsInForce } from '../../admin/faucet-config/faucet-settings';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { withTryAdvisoryLock } from '../../platform/database/advisory-lock';
import { DATABASE_POOL } from '../../platform/database/database';
import { databaseNow } from '../../platform/database/database-clock';
import { toNewEvents } from '../../platform/decider';
import { DomainError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore, EventStoreUnavailableError } from '../../platform/event-store/event-store.port';
import { toStreamName } from '../../identity/user/user.stream';
import { LOGGER, type Logger } from '../../platform/logging/logger';
import { METRICS, type Metrics } from '../../platform/metrics/metrics';
import { formatBan } from '../../platform/money';
import { failpoint } from '../../platform/runtime/failpoint';
import { forEachInFlight } from '../../platform/runtime/in-flight';
import { type SettlementEvent, settlementStream } from '../settlement/settlement.events';
import { planSettlement, type PlannedPayout } from '../settlement/settlement-plan';
import { RunSettlementCommand, type SettlementRunSummary } from './run-settlement.command';
import { dryRunSpendable, liveSpendable, loadEligibleUsers } from './settlement-facts';
import { BANANO_GATEWAY, type BananoGateway } from '../banano/banano-gateway';
import { BananoNodeError } from '../banano/banano-rpc.client';
import { DONATION_INGESTER, type DonationIngester } from '../../treasury/donation-ingester';
import { type OperatorAccount, operatorAccount, OperatorSeedUnreadableError } from '../operator/operator-seed';
import { messageOf } from '../../platform/errors/message-of';
import { awaitReadModels } from '../../platform/read-models/checkpoints';

/** Two-integer advisory lock key: one settlement at a time across every service instance. */
const SETTLEMENT_LOCK = [7358, 3] as const;
/**
 * Payout requests a run has in flight at once. Each is a read (unless the state is cached) and an
 * append of its own user's stream. One at a time, a run of 100,000 payouts spent most of its time
 * waiting for round trips and commits (bench P3); with many in flight, the PostgreSQL event store
 * sends the reads and the appends that queue up meanwhile together, one statement (and for
 * appends one commit) for many streams, and its pool bounds the statements actually running.
 * Measured with bench P3 (100,000 users): 256 requested 1,362-1,398 payouts/s, 128 1,054; with
 * --quick, 32 requested 715-785/s. On a machine a third slower (2026-12-03: the same run's
 * baselines 19-40 % down), 256 requested 916-961/s and 512 1,275/s, in half the transactions.
 * Other writers' appends meanwhile wait for at most one gathered statement ahead of theirs (at
 * most 500 streams, GROUP_STREAMS_MAX of the PostgreSQL event store).
 */
export const PAYOUT_REQUESTS_IN_FLIGHT_MAX = 512;
/** The read models a plan is made from (settlement-facts.ts). */
const PLAN_READ_MODELS = ['users', 'wallet_links', 'abuse_flags', 'reward_accruals', 'payouts'] as const;

/** A planned payout as the run summary lists it: kills, and the amount in raw and BAN (SPEC §5 pairs). */
function plannedAmounts(payout: PlannedPayout): { userId: string; kills: number; amountRaw: string; amountBan: string } {
  return { userId: payout.userId, kills: Number(payout.kills), amountRaw: payout.amountRaw.toString(), amountBan: formatBan(payout.amountRaw) };
}

@CommandHandler(RunSettlementCommand)
export class RunSettlementHandler implements ICommandHandler<RunSettlementCommand, SettlementRunSummary> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BANANO_GATEWAY) private readonly banano: BananoGateway | null,
    @Inject(DONATION_INGESTER) private readonly ingester: DonationIngester | null,
    private readonly settings: FaucetSettings,
    @Inject(METRICS) private readonly metrics: Metrics,
    private readonly userStates: UserStateCache,
  ) {}

  /** Scheduled runs and admin triggers both come here, through the same lock and the same rules. */
  async execute(command: RunSettlementCommand): Promise<SettlementRunSummary> {
    const startedAt = performance.now();
    // Donations pocketed first (SPEC §4.5), so the budget counts them. A preview appends nothing.
    if (!command.preview) await this.ingestDonations();
    const summary = await withTryAdvisoryLock(this.pool, SETTLEMENT_LOCK, (connection, held) => this.run(connection, command, held));
    if (summary === null) throw new DomainError('settlement_in_progress', 'Another settlement run is in progress; try again when it ends', 409);
    // Only runs that appended are measured; a preview is a query. Failed runs show in ledger_commands_total.
    if (!command.preview) {
      this.metrics.settlementRunCompleted({
        trigger: command.trigger,
        durationSeconds: (performance.now() - startedAt) / 1000,
        payouts: summary.payoutsRequested,
        kills: summary.killsRequested,
      });
    }
    return summary;
  }

  /** A pass the ingester cannot make (node down, lock held) leaves it to the next one. */
  private async ingestDonations(): Promise<void> {
    if (this.ingester === null) return;
    try {
      const result = await this.ingester.runOnce();
      if (result.stoppedBy !== null) this.logger.warn({ stoppedBy: result.stoppedBy }, 'donations before settlement: ingester stopped early');
    } catch (error) {
      this.logger.warn({ error: messageOf(error) }, 'donations before settlement: ingester failed');
    }
  }

  private async run(connection: DatabasePoolConnection, command: RunSettlementCommand, held: AbortSignal): Promise<SettlementRunSummary> {
    // The database's clock, not this instance's: it labels the claims of the run by their UTC day
    // and ISO week, and counts those of earlier runs, perhaps made by other instances, by it.
    const now = await databaseNow(connection);
    const runId = randomUUID();
    const seed = randomBytes(16).toString('hex');
    const dryRun = this.banano === null;
    await this.awaitPlanReadModels(connection);
    // Read once under the lock: the whole run uses the settings in force when it started, and records them.
    const settings = await this.settings.current();
    const { payout: limits } = settings;
    const batchSize = settings.scheduler.settlementBatchSize;
    const { reason, spendableRaw } = await this.budget(connection, settings);
    const users = reason === null ? await loadEligibleUsers(connection, { requireVerifiedWallet: this.config.payout.requireVerifiedWallet, now }) : [];
    const plan = planSettlement(
      users,
      {
        dailyKillCap: BigInt(limits.dailyKillCap),
        weeklyKillCap: BigInt(limits.weeklyKillCap),
        batchSize,
        spendableRaw,
      },
      seed,
    );
    const summary = (requested: SettlementRunSummary['payouts'], skipped: number, position: string | null): SettlementRunSummary => {
      const kills = requested.reduce((sum, payout) => sum + BigInt(payout.kills), 0n);
      const amount = requested.reduce((sum, payout) => sum + BigInt(payout.amountRaw), 0n);
      return {
        runId,
        seed,
        preview: command.preview,
        eligible: plan.eligible,
        payoutsRequested: requested.length,
        killsRequested: Number(kills),
        amountRequestedRaw: amount.toString(),
        amountRequestedBan: formatBan(amount),
        deferredByCaps: plan.deferredByCaps,
        deferredByBudget: plan.deferredByBudget,
        skipped,
        reason,
        payouts: requested,
        position,
      };
    };
    if (command.preview) {
      return summary(
        plan.payouts.map((payout) => ({ payoutId: null, ...plannedAmounts(payout) })),
        0,
        null,
      );
    }
    if (reason !== null) this.logger.warn({ runId, reason }, 'settlement requested nothing');
    const stream = settlementStream(runId);
    await this.append(stream, 'no_stream', command, {
      type: 'SettlementRunStarted',
      data: {
        runId,
        seed,
        config: {
          dailyKillCap: limits.dailyKillCap,
          weeklyKillCap: limits.weeklyKillCap,
          batchSize,
          minOperatorBalanceRaw: limits.minOperatorBalanceRaw.toString(),
          spendableRaw: spendableRaw.toString(),
          dryRun,
        },
        trigger: command.trigger,
        startedAt: now.toISOString(),
      },
    });
    // Each planned payout is one user's command (the state cached or read, decide, append with the
    // expected revision), independent of every other user's, so several are in flight at once.
    // The summary lists them in the plan's order whatever order they finish in. A lock lost on the
    // way (its session ended) may be another run's now, planning from the same budget: no new user.
    const outcomes = new Array<SettlementRunSummary['payouts'][number] | null>(plan.payouts.length).fill(null);
    let skipped = 0;
    await forEachInFlight(plan.payouts, PAYOUT_REQUESTS_IN_FLIGHT_MAX, async (payout, index) => {
      const payoutId = randomUUID();
      try {
        const decision = await runCachedUserCommand(
          this.store,
          this.userStates,
          payout.userId,
          {
            type: 'RequestPayout',
            data: {
              payoutId,
              runId,
              gateway: dryRun ? 'dry-run' : 'live',
              address: payout.address,
              kills: payout.kills,
              amountRaw: payout.amountRaw,
              idempotencyKey: payout.idempotencyKey,
              accruals: payout.accruals,
              requireVerifiedWallet: this.config.payout.requireVerifiedWallet,
              now,
            },
          },
          { ...command.metadata, causationId: runId },
        );
        if (decision.events.length === 0) skipped += 1;
        else {
          outcomes[index] = { payoutId, ...plannedAmounts(payout) };
          failpoint('settlement-payout-requested');
        }
      } catch (error) {
        if (error instanceof EventStoreUnavailableError) {
          // The append's answer was lost, so it may have been stored: the user's stream tells. Not
          // stored, the user rolls over to the next run; the run goes on and records its summary.
          if (await this.payoutRecorded(runId, payout.userId, payoutId, error)) {
            outcomes[index] = { payoutId, ...plannedAmounts(payout) };
            return;
          }
          skipped += 1;
          this.logger.warn({ runId, userId: payout.userId, error: messageOf(error) }, 'planned payout not recorded: the event store failed; the user rolls over');
          return;
        }
        if (!(error instanceof DomainError)) throw error;
        // The user's stream knew better than the read model (a payout in flight, kills claimed, a
        // new wallet, a high flag): this user rolls over to the next run.
        skipped += 1;
        this.logger.info({ runId, userId: payout.userId, code: error.code, reason: error.message }, 'planned payout skipped');
      }
    }, { stopped: () => held.aborted });
    const requested = outcomes.filter((outcome): outcome is SettlementRunSummary['payouts'][number] => outcome !== null);
    if (held.aborted) {
      // As when the event store fails mid-run: the payouts requested stay requested, and no summary
      // of a run that did not go through its plan is recorded.
      this.logger.error({ runId, payoutsRequested: requested.length, error: messageOf(held.reason) }, 'settlement run stopped: it lost its lock');
      throw new DomainError(
        'settlement_lock_lost',
        `Settlement run ${runId} lost its lock (its database session ended or no longer holds it) after requesting ${requested.length} payouts, and stopped so as not to run beside another. ` +
          'The payouts it requested stay requested and will be sent; its summary was not recorded, and the other users roll over to the next run. Retry shortly',
        503,
      );
    }
    const result = summary(requested, skipped, null);
    const position = await this.append(stream, 0n, command, {
      type: 'SettlementRunCompleted',
      data: {
        runId,
        eligible: result.eligible,
        payoutsRequested: result.payoutsRequested,
        killsRequested: result.killsRequested,
        amountRequestedRaw: result.amountRequestedRaw,
        deferredByCaps: result.deferredByCaps,
        deferredByBudget: result.deferredByBudget,
        skipped,
        reason,
        completedAt: new Date().toISOString(),
      },
    });
    this.logger.info({ runId, payoutsRequested: result.payoutsRequested, killsRequested: result.killsRequested }, 'settlement run completed');
    return { ...result, position: position.toString() };
  }

  /**
   * Whether the user's stream holds the PayoutRequested of `payoutId`, after an append that failed
   * without a clear answer. When the stream cannot be read either, the event store is down: the
   * run stops, and its answer says what stays recorded (a run's payouts requested so far are sent)
   * rather than the generic "nothing was recorded".
   */
  private async payoutRecorded(runId: string, userId: string, payoutId: string, appendError: EventStoreUnavailableError): Promise<boolean> {
    let events;
    try {
      events = await this.store.readStream(toStreamName(userId));
    } catch (error) {
      if (!(error instanceof EventStoreUnavailableError)) throw error;
      this.logger.error({ runId, error: messageOf(appendError) }, 'settlement run interrupted: the event store is unavailable');
      throw new DomainError(
        'event_store_unavailable',
        `The event store became unavailable during settlement run ${runId}. The payouts it requested before stay requested and will be sent; ` +
          'its summary was not recorded, and the other users roll over to the next run. Retry shortly',
        503,
      );
    }
    return events.some((event) => event.type === 'PayoutRequested' && (event.data as { payoutId?: unknown }).payoutId === payoutId);
  }

  /**
   * A plan is made from read models, so they first catch up with every event stored when the run
   * starts. The user streams check each planned payout again (kills, wallet, flags), but nothing
   * checks the budget: what earlier runs requested and have not sent yet is spoken for only once
   * the payouts read model shows it, and a run planned before that would spend it a second time.
   * A read model still behind after the wait fails the run with 503 read_model_behind; it requests
   * nothing, and the next run or trigger tries again.
   */
  private async awaitPlanReadModels(connection: DatabasePoolConnection): Promise<void> {
    const head = await this.store.headPosition();
    await awaitReadModels(connection, this.store, PLAN_READ_MODELS, head, this.config.settlement.readModelWaitMs);
  }

  /**
   * What a run may spend (SPEC §4.3): the operator balance minus the floor, minus what payouts
   * not yet sent are spoken for. Dry-run simulates the balance; live asks the node. Without an
   * operator seed nothing can be signed, so a live run requests nothing and says why.
   */
  private async budget(connection: DatabasePoolConnection, settings: FaucetSettingsInForce): Promise<{ reason: string | null; spendableRaw: bigint }> {
    const floorRaw = settings.payout.minOperatorBalanceRaw;
    if (this.banano === null) return { reason: null, spendableRaw: await dryRunSpendable(connection, this.config.banano.dryRunBalanceRaw, floorRaw) };
    let account: OperatorAccount | null;
    try {
      account = await operatorAccount(this.banano.seeds);
    } catch (error) {
      if (!(error instanceof OperatorSeedUnreadableError)) throw error;
      throw new DomainError(error.code, `${error.message}; settlement cannot run`, 503);
    }
    if (account === null) return { reason: 'operator_seed_not_configured', spendableRaw: 0n };
    const { rpc } = this.banano;
    // The confirmed balance (account_balance counts confirmed blocks only, as the node does by
    // default) still holds a payout that was sent but is not confirmed yet, which the payouts read
    // model no longer speaks for. The frontier's balance (account_info) has every send out,
    // confirmed or not, and is what the executor builds on, but it also has receives not yet
    // confirmed. The lower of the two spends neither.
    const readBalance = async (): Promise<bigint> => {
      try {
        const [confirmed, frontier] = await Promise.all([rpc.accountBalance(account.address), rpc.accountInfo(account.address)]);
        const frontierRaw = frontier?.balanceRaw ?? 0n;
        return frontierRaw < confirmed.balanceRaw ? frontierRaw : confirmed.balanceRaw;
      } catch (error) {
        if (!(error instanceof BananoNodeError)) throw error;
        throw new DomainError('banano_node_unavailable', `The Banano node could not tell the operator balance: ${error.message}`, 503);
      }
    };
    return { reason: null, spendableRaw: await liveSpendable(connection, readBalance, floorRaw) };
  }

  private async append(stream: string, expectedRevision: 'no_stream' | bigint, command: RunSettlementCommand, event: SettlementEvent): Promise<bigint> {
    const result = await this.store.appendToStream(stream, toNewEvents([event], command.metadata, 1), { expectedRevision });
    return result.position;
  }
}
