import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { PayoutIdParams } from '../get-payout/get-payout.controller';
import { RetryPayoutCommand, type RetryPayoutResult } from './retry-payout.command';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { RetryPayoutResponse } from '../payouts.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/payouts/:payoutId/retry')
export class RetryPayoutController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Gives a failed payout to the executor again: same payout, same key, a new run of attempts.
   * 200 `{payoutId, userId, status: 'pending', position}`, appending nothing when a retry made it
   * pending already; 409 payout_not_failed unless it failed.
   */
  @ApiOperation({
    summary: 'Retry a failed payout',
    description:
      'Appends PayoutRetryRequested: the same payout and idempotency key go back to the executor, with a new run of attempts. Only a `failed` payout; ' +
      'one a retry made pending already answers 200 and appends nothing.',
  })
  @ApiSuccess(200, 'The payout is pending again', RetryPayoutResponse)
  @ApiProblems(404, ['payout_not_found'])
  @ApiProblems(409, ['payout_not_failed', 'concurrency_conflict'])
  @ApiProblems(503, ['event_store_unavailable'])
  @Post()
  @HttpCode(200)
  retry(@Param() params: PayoutIdParams, @AdminCommandContext() metadata: CommandMetadata): Promise<RetryPayoutResult> {
    return this.commandBus.execute(new RetryPayoutCommand(params.payoutId.toLowerCase(), metadata));
  }
}
