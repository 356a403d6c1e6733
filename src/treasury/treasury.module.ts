import { Module } from '@nestjs/common';
import { type DatabasePool } from 'slonik';
import { LEDGER_CONFIG, type LedgerConfig } from '../platform/config/config';
import { DATABASE_POOL } from '../platform/database/database';
import { EVENT_STORE, type EventStore } from '../platform/event-store/event-store.port';
import { LOGGER, type Logger } from '../platform/logging/logger';
import { METRICS, type Metrics } from '../platform/metrics/metrics';
import { BANANO_GATEWAY, type BananoGateway } from '../payouts/banano/banano-gateway';
import { OPERATOR_ACCOUNTS, OperatorAccounts } from '../payouts/operator/operator-accounts';
import { RewardsModule } from '../rewards/rewards.module';
import { DONATION_INGESTER, DonationIngester } from './donation-ingester';
import { GetDonationsController } from './donations/get-donations.controller';
import { GetDonationsHandler } from './donations/get-donations.handler';
import { RebuildDonationsController } from './rebuild-donations/rebuild-donations.controller';
import { RebuildDonationsHandler } from './rebuild-donations/rebuild-donations.handler';
import { GetReconciliationController } from './reconciliation/get-reconciliation.controller';
import { GetReconciliationHandler } from './reconciliation/get-reconciliation.handler';

/** Publishing the same block after ambiguous failures, per run; the next run goes on. */
export const PUBLISH_TRIES_PER_RUN = 3;
/** Receivable sends the donation ingester reads per run; more wait for the next run. */
const RECEIVABLE_PER_RUN_MAX = 100;

/**
 * The inflow side (SPEC §4.5). The donation ingester is one instance per process: the workers run
 * it on its interval and settlement runs it once more before each run. Null in dry-run, which has
 * no chain to receive from.
 */
@Module({
  imports: [RewardsModule],
  controllers: [GetDonationsController, RebuildDonationsController, GetReconciliationController],
  providers: [
    GetDonationsHandler,
    RebuildDonationsHandler,
    GetReconciliationHandler,
    {
      provide: OPERATOR_ACCOUNTS,
      inject: [DATABASE_POOL, EVENT_STORE],
      useFactory: (pool: DatabasePool, store: EventStore) => new OperatorAccounts(pool, store),
    },
    {
      provide: DONATION_INGESTER,
      inject: [DATABASE_POOL, EVENT_STORE, BANANO_GATEWAY, LEDGER_CONFIG, LOGGER, OPERATOR_ACCOUNTS, METRICS],
      useFactory: (pool: DatabasePool, store: EventStore, banano: BananoGateway | null, config: LedgerConfig, logger: Logger, accounts: OperatorAccounts, metrics: Metrics) =>
        banano === null
          ? null
          : new DonationIngester(
              pool,
              store,
              banano.rpc,
              banano.seeds,
              {
                fundingAddresses: config.treasury.fundingAddresses,
                intervalMs: config.treasury.ingestIntervalMs,
                receivableCountMax: RECEIVABLE_PER_RUN_MAX,
                publishTriesMax: PUBLISH_TRIES_PER_RUN,
                milestones: config.economics.milestones,
                landingWindowMs: config.banano.landingWindowMs,
                runFailed: () => metrics.workerRunFailed('donation-ingester'),
              },
              (message, fields) => logger.warn({ worker: 'donation-ingester', ...fields }, message),
              accounts,
            ),
    },
  ],
  exports: [DONATION_INGESTER, OPERATOR_ACCOUNTS],
})
export class TreasuryModule {}
