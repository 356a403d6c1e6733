import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { type DatabasePool, sql } from 'slonik';
import { UserIdParams } from '../../identity/get-user/get-user.dto';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { NotFoundError } from '../../platform/errors/domain-error';
import { decodeCursor, encodeCursor, minPositionOf, type Page, PAGE_LIMIT_DEFAULT, PageQueryDto } from '../../platform/http/paging';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { PAYOUT_COLUMNS, payoutRow, payoutView, type PayoutView } from '../payout.view';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPageResponse, ApiProblems } from '../../platform/http/openapi';
import { PayoutResponse } from '../payouts.responses';

/** A user's payouts, newest first. */
@ApiTags('payouts')
@RequiresScope('queries:read')
@Controller('v1/users/:userId/payouts')
export class ListPayoutsController {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @ApiOperation({ summary: 'A player\'s payouts, newest first' })
  @ApiPageResponse(PayoutResponse, 'A page of payouts')
  @ApiProblems(404, ['user_not_found'])
  @Get()
  async list(@Param() params: UserIdParams, @Query() query: PageQueryDto): Promise<Page<PayoutView>> {
    const userId = params.userId.toLowerCase();
    const limit = query.limit ?? PAGE_LIMIT_DEFAULT;
    const scope = `payouts:${userId}`;
    const after = decodeCursor(query.cursor, scope, ['p'] as const);
    await awaitReadModels(this.pool, this.store, ['users', 'payouts'], minPositionOf(query), this.config.http.minPositionWaitMs);
    if (!(await this.pool.exists(sql.unsafe`SELECT 1 FROM users WHERE user_id = ${userId}`))) {
      throw new NotFoundError('user_not_found', `No user ${userId}`);
    }
    const rows = await this.pool.any(sql.type(payoutRow)`
      SELECT ${PAYOUT_COLUMNS} FROM payouts
       WHERE user_id = ${userId} ${after === null ? sql.fragment`` : sql.fragment`AND requested_position < ${after.p}::bigint`}
       ORDER BY requested_position DESC LIMIT ${limit + 1}`);
    const page = rows.slice(0, limit);
    return {
      items: page.map(payoutView),
      nextCursor: rows.length > limit ? encodeCursor(scope, { p: page[page.length - 1].requested_position.toString() }) : null,
    };
  }
}
