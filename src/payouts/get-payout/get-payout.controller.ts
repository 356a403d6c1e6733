import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { IsUUID, MaxLength } from 'class-validator';
import { type DatabasePool } from 'slonik';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { NotFoundError } from '../../platform/errors/domain-error';
import { MinPositionQueryDto, minPositionOf } from '../../platform/http/paging';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { findPayout, type PayoutView } from '../payout.view';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess, EXAMPLE } from '../../platform/http/openapi';
import { PayoutResponse } from '../payouts.responses';

export class PayoutIdParams {
  @ApiProperty({ description: 'The payout.', example: EXAMPLE.payoutId })
  @IsUUID('all', { message: 'payoutId must be a UUID', context: { code: 'invalid_payout_id' } })
  @MaxLength(36, { message: 'payoutId must be a UUID', context: { code: 'invalid_payout_id' } })
  readonly payoutId!: string;
}

/** A read of one row needs no query class of its own: it goes straight to the read model. */
@ApiTags('payouts')
@RequiresScope('queries:read')
@Controller('v1/payouts/:payoutId')
export class GetPayoutController {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @ApiOperation({ summary: 'One payout: status, attempts, block hash, covered accruals' })
  @ApiSuccess(200, 'The payout', PayoutResponse)
  @ApiProblems(404, ['payout_not_found'])
  @Get()
  async get(@Param() params: PayoutIdParams, @Query() query: MinPositionQueryDto): Promise<PayoutView> {
    await awaitReadModels(this.pool, this.store, ['payouts'], minPositionOf(query), this.config.http.minPositionWaitMs);
    const payout = await findPayout(this.pool, params.payoutId.toLowerCase());
    if (payout === null) throw new NotFoundError('payout_not_found', `No payout ${params.payoutId}`);
    return payout;
  }
}
