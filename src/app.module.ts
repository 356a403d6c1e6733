import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DashboardModule } from './dashboard/dashboard.module';
import { type DatabasePool } from 'slonik';
import { AdminModule } from './admin/admin.module';
import { DashboardQueriesModule } from './dashboard-queries/dashboard-queries.module';
import { FaucetSettingsModule } from './admin/faucet-config/faucet-settings';
import { IdentityModule } from './identity/identity.module';
import { UserStateCacheModule } from './identity/user/user-state-cache';
import { YUNITE, type YuniteLookupPort } from './identity/yunite/yunite.port';
import { LEDGER_CONFIG, type LedgerConfig } from './platform/config/config';
import { DATABASE_POOL } from './platform/database/database';
import { EVENT_STORE, type EventStore } from './platform/event-store/event-store.port';
import { HealthController, READINESS_CHECKS, type ReadinessCheck } from './platform/health/health.controller';
import { BANANO_GATEWAY, type BananoGateway } from './payouts/banano/banano-gateway';
import { PayoutsModule } from './payouts/payouts.module';
import { LOGGER, type Logger } from './platform/logging/logger';
import { MeteredEventStore } from './platform/event-store/metered-event-store';
import { METRICS, type Metrics } from './platform/metrics/metrics';
import { MetricsModule } from './platform/metrics/metrics.module';
import { LIFETIME_KILLS_SOURCE, type LifetimeKillsSource } from './rewards/fortnite-stats/lifetime-kills.port';
import { RewardsModule } from './rewards/rewards.module';
import { TreasuryModule } from './treasury/treasury.module';
import { SecurityModule } from './security/security.module';
import { SecureConfigModule } from './security/secure-config/secure-config.module';

/** What the composition root (main.ts, or a test) hands to the application. */
export interface AppDependencies {
  readonly config: LedgerConfig;
  readonly logger: Logger;
  readonly pool: DatabasePool;
  readonly eventStore: EventStore;
  readonly readinessChecks: readonly ReadinessCheck[];
  /** The Fortnite stats API, when configured; without it a baseline must be given. */
  readonly lifetimeKillsSource?: LifetimeKillsSource | null;
  /** Yunite, when configured; without it POST /verify answers 503 yunite_not_configured. */
  readonly yunite?: YuniteLookupPort | null;
  /** The Banano node and operator seed; null or absent runs payouts dry (SPEC §4.4). */
  readonly banano?: BananoGateway | null;
}

@Global()
@Module({})
class PlatformModule {
  static register(dependencies: AppDependencies): DynamicModule {
    const providers = [
      { provide: LEDGER_CONFIG, useValue: dependencies.config },
      { provide: LOGGER, useValue: dependencies.logger },
      { provide: DATABASE_POOL, useValue: dependencies.pool },
      // Every append through the application is counted (ledger_events_appended_total).
      { provide: EVENT_STORE, useFactory: (metrics: Metrics) => new MeteredEventStore(dependencies.eventStore, (category, count) => metrics.appended(category, count)), inject: [METRICS] },
      { provide: READINESS_CHECKS, useValue: dependencies.readinessChecks },
      { provide: LIFETIME_KILLS_SOURCE, useValue: dependencies.lifetimeKillsSource ?? null },
      { provide: YUNITE, useValue: dependencies.yunite ?? null },
      { provide: BANANO_GATEWAY, useValue: dependencies.banano ?? null },
    ];
    return { module: PlatformModule, providers, exports: providers.map((provider) => provider.provide) };
  }
}

@Module({})
export class AppModule {
  static register(dependencies: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.register(dependencies), MetricsModule, CqrsModule.forRoot(), FaucetSettingsModule, UserStateCacheModule, SecurityModule, SecureConfigModule, IdentityModule, RewardsModule, TreasuryModule, PayoutsModule, AdminModule, DashboardQueriesModule, DashboardModule],
      controllers: [HealthController],
    };
  }
}
