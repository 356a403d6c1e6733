import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { FaucetSettings } from './admin/faucet-config/faucet-settings';
import { UserStateCache } from './identity/user/user-state-cache';
import { VerifyUserCommand } from './identity/verify-user/verify-user.command';
import { ReverificationScheduler, reverificationFromEnv } from './identity/yunite/reverification.scheduler';
import { YuniteClient, yuniteConfigFromEnv } from './identity/yunite/yunite.client';
import { type CommandMetadata } from './platform/decider';
import { type Env, type LedgerConfig } from './platform/config/config';
import { StoredWorkerCursor } from './platform/database/worker-cursor';
import { WorkerLease } from './platform/database/worker-lease';
import { EVENT_STORE, type EventStore } from './platform/event-store/event-store.port';
import { type ReadinessCheck } from './platform/health/health.controller';
import { type Logger, withCorrelationId } from './platform/logging/logger';
import { METRICS, type Metrics, type WorkerName } from './platform/metrics/metrics';
import { BananoPayoutSender } from './payouts/executor/banano-payout-sender';
import { OPERATOR_ACCOUNTS, type OperatorAccounts } from './payouts/operator/operator-accounts';
import { DryRunPayoutSender, PayoutExecutor, type PayoutSender } from './payouts/executor/payout-executor';
import { type BananoGateway, bananoGatewayFromConfig } from './payouts/banano/banano-gateway';
import { BananoNodeError } from './payouts/banano/banano-rpc.client';
import { UnclearCopies } from './payouts/banano/unclear-copies';
import { type OperatorAccount, operatorAccount, OperatorSeedUnreadableError } from './payouts/operator/operator-seed';
import { formatBan } from './platform/money';
import { RunSettlementCommand } from './payouts/run-settlement/run-settlement.command';
import { runScheduledSettlement } from './payouts/run-settlement/settlement-schedule';
import { SCHEDULE_CHECK_INTERVAL_MS_MAX, SettlementScheduler } from './payouts/run-settlement/settlement-scheduler';
import { FortniteStatsClient } from './rewards/fortnite-stats/fortnite-stats.client';
import { type LifetimeKillsSource } from './rewards/fortnite-stats/lifetime-kills.port';
import { StatsPoller } from './rewards/fortnite-stats/stats-poller';
import { RecordKillsCommand } from './rewards/record-kills/record-kills.command';
import { operatorSeedSourceFromConfig } from './security/secure-config/stored-operator-seed';
import { DONATION_INGESTER, type DonationIngester } from './treasury/donation-ingester';
import { PUBLISH_TRIES_PER_RUN } from './treasury/treasury.module';

// A composition root: it wires the outside services (Fortnite stats API, Yunite) and the
// workers that call them into the application, each only when it is configured.

export interface Integrations {
  readonly lifetimeKillsSource: LifetimeKillsSource | null;
  readonly statsClient: FortniteStatsClient | null;
  readonly yunite: YuniteClient | null;
  /** The Banano node and operator seed; null runs payouts dry. */
  readonly banano: BananoGateway | null;
}

/**
 * `pool` is the service's database: the operator seed is read from its secure_config table on every
 * use (with BANANO_OPERATOR_SEED_FILE only while none is stored there).
 */
export function createIntegrations(config: LedgerConfig, env: Env, pool: DatabasePool): Integrations {
  const stats = config.fortniteStats;
  const statsClient = stats === null ? null : new FortniteStatsClient({ baseUrl: stats.baseUrl, apiKey: stats.apiKey, timeoutMs: stats.timeoutMs });
  const yuniteConfig = yuniteConfigFromEnv(env);
  return {
    statsClient,
    lifetimeKillsSource: statsClient === null ? null : { lifetimeKills: (epicAccountId) => statsClient.getLifetimeKills(epicAccountId) },
    yunite: yuniteConfig === null ? null : new YuniteClient(yuniteConfig),
    banano: bananoGatewayFromConfig(config, operatorSeedSourceFromConfig(config, pool)),
  };
}

const linkedUserRow = z.object({ user_id: z.string(), epic_account_id: z.string() });

/** Linked users in user id order, after a cursor: the round-robin both workers walk. */
function listLinkedUsers(pool: DatabasePool) {
  return async (afterUserId: string | null, limit: number) => {
    const rows = await pool.any(sql.type(linkedUserRow)`
      SELECT user_id, epic_account_id FROM users
       WHERE epic_account_id IS NOT NULL ${afterUserId === null ? sql.fragment`` : sql.fragment`AND user_id > ${afterUserId}`}
       ORDER BY user_id LIMIT ${limit}`);
    return rows.map((row) => ({ userId: row.user_id, epicAccountId: row.epic_account_id }));
  };
}

function systemMetadata(name: string): CommandMetadata {
  return { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name } };
}

/** A worker's command, with a correlation id of its own on its events and on every line it logs. */
function asSystem<T>(name: string, command: (metadata: CommandMetadata) => Promise<T>): Promise<T> {
  const metadata = systemMetadata(name);
  return withCorrelationId(metadata.correlationId, () => command(metadata));
}

/**
 * /ready tells an operator whether payouts can go out: a dry run always can; a live gateway
 * needs a readable operator seed and a node that answers, and says which is missing (SPEC §4.4).
 */
export function payoutReadinessCheck(banano: BananoGateway | null): ReadinessCheck {
  return {
    name: 'payouts',
    check: async () => {
      if (banano === null) return { ok: true, detail: { mode: 'dry-run' } };
      let account: OperatorAccount | null;
      try {
        account = await operatorAccount(banano.seeds);
      } catch (error) {
        if (!(error instanceof OperatorSeedUnreadableError)) throw error;
        return { ok: false, detail: { mode: 'live', reason: error.code } };
      }
      if (account === null) return { ok: false, detail: { mode: 'live', reason: 'operator_seed_not_configured' } };
      try {
        const { balanceRaw } = await banano.probe.accountBalance(account.address);
        return { ok: true, detail: { mode: 'live', operatorAddress: account.address, balanceBan: formatBan(balanceRaw) } };
      } catch (error) {
        if (!(error instanceof BananoNodeError)) throw error;
        return { ok: false, detail: { mode: 'live', operatorAddress: account.address, reason: 'banano_node_unavailable' } };
      }
    },
  };
}

export interface Workers {
  readonly names: readonly string[];
  readonly statsPoller: StatsPoller | null;
  readonly reverification: ReverificationScheduler | null;
  readonly payoutExecutor: PayoutExecutor;
  /** Pockets donations to the operator account; null in dry-run, which has no chain. */
  readonly donationIngester: DonationIngester | null;
  stop(): Promise<void>;
}

/** Starts the payout executor and settlement schedule, and the stats poller and Yunite re-verification when configured. */
export function startWorkers(
  app: INestApplicationContext,
  pool: DatabasePool,
  integrations: Integrations,
  config: LedgerConfig,
  env: Env,
  logger: Logger,
  options: { readonly autoStart?: boolean } = {},
): Workers {
  const commandBus = app.get(CommandBus);
  // The application's store, so what the workers append is counted like everything else.
  const eventStore = app.get<EventStore>(EVENT_STORE);
  const autoStart = options.autoStart ?? true;
  // Each worker is told of its failed runs through a callback (runFailed), not the metrics, so the
  // workers stay free of prom-client; the donation ingester's is given where it is made (treasury.module.ts).
  const metrics = app.get<Metrics>(METRICS);
  const runFailed = (worker: WorkerName) => () => metrics.workerRunFailed(worker);
  let statsPoller: StatsPoller | null = null;
  const stats = config.fortniteStats;
  if (integrations.statsClient !== null && stats !== null && stats.pollCallsPerMinute > 0) {
    const client = integrations.statsClient;
    statsPoller = new StatsPoller(
      {
        listLinkedUsers: listLinkedUsers(pool),
        recordKills: async (userId, epicAccountId, lifetimeKills, observedAt) => {
          await asSystem('stats-poller', (metadata) => commandBus.execute(new RecordKillsCommand({ userId, lifetimeKills, observedAt, epicAccountId }, metadata)));
        },
        getLifetimeKills: (epicAccountId) => client.getLifetimeKills(epicAccountId),
        now: () => new Date(),
        log: (message, fields) => logger.warn({ worker: 'stats-poller', ...fields }, message),
        turn: new WorkerLease(pool, 'stats-poller', (message, fields) => logger.info(fields, message)),
        cursor: new StoredWorkerCursor(pool, 'stats-poller', (message, fields) => logger.warn(fields, message)),
        runFailed: runFailed('stats-poller'),
      },
      { callsPerMinute: stats.pollCallsPerMinute, intervalMs: stats.pollIntervalMs },
    );
  }
  let reverification: ReverificationScheduler | null = null;
  const reverificationOptions = reverificationFromEnv(env);
  if (integrations.yunite !== null && reverificationOptions !== null) {
    reverification = new ReverificationScheduler(
      {
        listLinkedUsers: listLinkedUsers(pool),
        verifyUser: async (userId) => {
          await asSystem('yunite-reverification', (metadata) => commandBus.execute(new VerifyUserCommand(userId, metadata)));
        },
        log: (message, fields) => logger.warn({ worker: 'yunite-reverification', ...fields }, message),
        turn: new WorkerLease(pool, 'yunite-reverification', (message, fields) => logger.info(fields, message)),
        cursor: new StoredWorkerCursor(pool, 'yunite-reverification', (message, fields) => logger.warn(fields, message)),
        runFailed: runFailed('yunite-reverification'),
      },
      reverificationOptions,
    );
  }
  // Without BANANO_RPC_URL payouts are sent dry; with it, as signed blocks once the seed is there.
  const executorLog = (message: string, fields?: Record<string, unknown>): void => logger.warn({ worker: 'payout-executor', ...fields }, message);
  const sender: PayoutSender =
    integrations.banano === null
      ? new DryRunPayoutSender(eventStore, executorLog, app.get(UserStateCache))
      : new BananoPayoutSender(
          eventStore,
          integrations.banano.rpc,
          integrations.banano.seeds,
          app.get<OperatorAccounts>(OPERATOR_ACCOUNTS),
          {
            retryPolicy: {
              maxAttempts: config.payout.maxAttempts,
              backoffBaseMs: config.payout.retryBackoffMs,
              backoffMaxMs: config.payout.retryBackoffMaxMs,
            },
            publishTriesMax: PUBLISH_TRIES_PER_RUN,
            unclear: new UnclearCopies(pool, config.banano.landingWindowMs),
            minOperatorBalanceRaw: async () => (await app.get(FaucetSettings).current()).payout.minOperatorBalanceRaw,
          },
          executorLog,
        );
  const payoutExecutor = new PayoutExecutor(pool, sender, config.banano.executorIntervalMs, executorLog, runFailed('payout-executor'));
  const donationIngester = app.get<DonationIngester | null>(DONATION_INGESTER);
  // Always there, even with a zero interval, because an admin can start scheduled runs at any time.
  const settings = app.get(FaucetSettings);
  const settlements = new SettlementScheduler(
    {
      intervalSeconds: async () => (await settings.current()).scheduler.settlementIntervalSeconds,
      runSettlement: (everyMs) =>
        runScheduledSettlement(pool, everyMs, async () => {
          await asSystem('settlement-scheduler', (metadata) => commandBus.execute(new RunSettlementCommand(false, 'schedule', metadata)));
        }),
      log: (message, fields) => logger.warn({ worker: 'settlement-scheduler', ...fields }, message),
      runFailed: runFailed('settlement-scheduler'),
    },
    { onStart: config.settlement.onStart, checkIntervalMsMax: SCHEDULE_CHECK_INTERVAL_MS_MAX },
  );
  // Their failed runs read 0 from the start, so rate() sees the first failure (metrics.ts).
  metrics.workersRunning([
    ...(statsPoller === null ? [] : ['stats-poller' as const]),
    ...(reverification === null ? [] : ['yunite-reverification' as const]),
    'payout-executor',
    ...(donationIngester === null ? [] : ['donation-ingester' as const]),
    'settlement-scheduler',
  ]);
  if (autoStart) {
    statsPoller?.start();
    reverification?.start();
    payoutExecutor.start();
    donationIngester?.start();
    settlements.start();
  }
  const names = [
    ...(statsPoller === null ? [] : ['stats-poller']),
    ...(reverification === null ? [] : ['yunite-reverification']),
    `payout-executor (${sender.mode})`,
    ...(donationIngester === null ? [] : ['donation-ingester']),
    'settlement-scheduler',
  ];
  return {
    names,
    statsPoller,
    reverification,
    payoutExecutor,
    donationIngester,
    async stop() {
      await Promise.all([settlements.stop(), statsPoller?.stop(), reverification?.stop(), payoutExecutor.stop(), donationIngester?.stop()]);
    },
  };
}
