import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool } from 'slonik';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { BANANO_GATEWAY, type BananoGateway } from '../../payouts/banano/banano-gateway';
import { reconcile } from './reconcile';
import { type ReconciliationReport } from './reconciliation';
import { GetReconciliationQuery } from './get-reconciliation.query';

/**
 * Reads the events and, live, the node itself: unlike the public queries this admin query does
 * not answer from a read model, because what it checks is the ledger against the outside world.
 */
@QueryHandler(GetReconciliationQuery)
export class GetReconciliationHandler implements IQueryHandler<GetReconciliationQuery, ReconciliationReport> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(BANANO_GATEWAY) private readonly banano: BananoGateway | null,
  ) {}

  execute(): Promise<ReconciliationReport> {
    return reconcile({ store: this.store, pool: this.pool, banano: this.banano, dryRunBalanceRaw: this.config.banano.dryRunBalanceRaw });
  }
}
