import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { NotFoundError } from '../../platform/errors/domain-error';
import { decodeCursor, encodeCursor, type Page } from '../../platform/http/paging';
import { type AccrualView, accrualView } from '../accrual.view';
import { ListAccrualsQuery } from './list-accruals.query';

const accrualRow = z.object({
  accrual_id: z.string(),
  user_id: z.string(),
  epoch_minute: z.bigint(),
  kills: z.bigint(),
  from_kill_count: z.bigint(),
  to_kill_count: z.bigint(),
  rate_per_kill_raw: z.string(),
  amount_raw: z.string(),
  milestone_multiplier: z.string(),
  sustainability_factor: z.string(),
  settled: z.boolean(),
  payout_id: z.string().nullable(),
  recorded_at: z.date(),
});

/** A user's accruals, newest minute first. */
@QueryHandler(ListAccrualsQuery)
export class ListAccrualsHandler implements IQueryHandler<ListAccrualsQuery, Page<AccrualView>> {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute(query: ListAccrualsQuery): Promise<Page<AccrualView>> {
    const scope = `accruals:${query.userId}`;
    const after = decodeCursor(query.cursor, scope, ['m'] as const);
    await awaitReadModels(this.pool, this.store, ['users', 'reward_accruals'], query.minPosition, this.config.http.minPositionWaitMs);
    const known = await this.pool.exists(sql.unsafe`SELECT 1 FROM users WHERE user_id = ${query.userId}`);
    if (!known) throw new NotFoundError('user_not_found', `No user ${query.userId}`);
    const rows = await this.pool.any(sql.type(accrualRow)`
      SELECT accrual_id, user_id, epoch_minute, kills, from_kill_count, to_kill_count, rate_per_kill_raw, amount_raw,
             milestone_multiplier, sustainability_factor, settled, payout_id, recorded_at
        FROM reward_accruals
       WHERE user_id = ${query.userId}
         ${after === null ? sql.fragment`` : sql.fragment`AND epoch_minute < ${after.m}::bigint`}
       ORDER BY epoch_minute DESC
       LIMIT ${query.limit + 1}`);
    const page = rows.slice(0, query.limit);
    return {
      items: page.map((row) =>
        accrualView({
          accrualId: row.accrual_id,
          userId: row.user_id,
          epochMinute: Number(row.epoch_minute),
          kills: Number(row.kills),
          fromKillCount: Number(row.from_kill_count),
          toKillCount: Number(row.to_kill_count),
          ratePerKillRaw: row.rate_per_kill_raw,
          amountRaw: row.amount_raw,
          milestoneMultiplier: row.milestone_multiplier,
          sustainabilityFactor: row.sustainability_factor,
          settled: row.settled,
          payoutId: row.payout_id,
          recordedAt: row.recorded_at.toISOString(),
        }),
      ),
      nextCursor: rows.length > query.limit ? encodeCursor(scope, { m: page[page.length - 1].epoch_minute.toString() }) : null,
    };
  }
}

