import { Global, Inject, Injectable, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type DatabasePool } from 'slonik';
import { BANANO_GATEWAY, type BananoGateway } from '../../payouts/banano/banano-gateway';
import { type BananoRpcCall, BananoNodeUnavailableError } from '../../payouts/banano/banano-rpc.client';
import { DATABASE_POOL } from '../database/database';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port';
import { meterCommandBus } from './command-metrics';
import { type BananoRpcMeasurement, METRICS, Metrics } from './metrics';
import { MetricsController } from './metrics.controller';
import { payoutsCollector, projectionLagCollector } from './read-model-gauges';

/**
 * Connects the application's metrics to what they measure, once the application is built: the
 * command bus, the read models measured at scrape time, and the Banano node's clients. Appended
 * events are counted by the event store AppModule provides (MeteredEventStore), HTTP requests by
 * a Fastify hook (create-http-app.ts), settlement runs by their handler.
 */
@Injectable()
class MetricsWiring implements OnModuleInit, OnModuleDestroy {
  private stopWatchingNode: (() => void) | null = null;

  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    private readonly commandBus: CommandBus,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(BANANO_GATEWAY) private readonly banano: BananoGateway | null,
  ) {}

  onModuleInit(): void {
    meterCommandBus(this.commandBus, this.metrics);
    this.metrics.collectAtScrape(projectionLagCollector(this.pool, this.store, this.metrics));
    this.metrics.collectAtScrape(payoutsCollector(this.pool, this.metrics));
    this.stopWatchingNode = this.banano?.observers.add((call) => this.metrics.bananoRpcCalled(bananoMeasurement(call))) ?? null;
  }

  onModuleDestroy(): void {
    this.stopWatchingNode?.();
    this.stopWatchingNode = null;
  }
}

function bananoMeasurement(call: BananoRpcCall): BananoRpcMeasurement {
  const { action, durationSeconds, error } = call;
  if (error === null) return { action, durationSeconds, outcome: 'ok', errorKind: null };
  switch (error.code) {
    case 'node_rejected':
      return { action, durationSeconds, outcome: 'rejected', errorKind: 'rejected' };
    case 'node_timeout':
      return { action, durationSeconds, outcome: 'timeout', errorKind: 'timeout' };
    case 'node_unavailable':
      return {
        action,
        durationSeconds,
        outcome: 'unavailable',
        errorKind: error instanceof BananoNodeUnavailableError ? error.reason : 'unavailable',
      };
    default: {
      const unknown: never = error.code;
      throw new Error(`Unknown Banano node error code ${String(unknown)}`);
    }
  }
}

/** One registry per application (METRICS), GET /metrics, and the wiring above. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: METRICS, useFactory: () => new Metrics() }, MetricsWiring],
  exports: [METRICS],
})
export class MetricsModule {}
