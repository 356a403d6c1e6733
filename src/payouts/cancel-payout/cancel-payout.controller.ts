import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { PayoutIdParams } from '../get-payout/get-payout.controller';
import { CancelPayoutCommand, type CancelPayoutResult } from './cancel-payout.command';
import { CancelPayoutDto } from './cancel-payout.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { CancelPayoutResponse } from '../payouts.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/payouts/:payoutId/cancel')
export class CancelPayoutController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Cancels a failed payout and releases its kills to later settlements.
   * 200 `{payoutId, userId, status: 'cancelled', position}`, appending nothing when it was cancelled
   * already; 409 payout_not_failed unless it failed;
   * 409 payout_block_on_chain, or 503 banano_node_unavailable, unless the node shows none of its
   * blocks on the chain.
   */
  @ApiOperation({
    summary: 'Cancel a failed payout',
    description:
      'Appends PayoutCancelled with the reason: the payout\'s kills are released, and a later settlement pays them in a new payout (under the same idempotency key). Only a `failed` payout, ' +
      'and only once the Banano node shows none of the blocks its attempts signed on the chain. A cancelled payout answers 200 and appends nothing.',
  })
  @ApiSuccess(200, 'The payout is cancelled', CancelPayoutResponse)
  @ApiProblems(404, ['payout_not_found'])
  @ApiProblems(409, ['payout_not_failed', 'payout_block_on_chain', 'concurrency_conflict'])
  @ApiProblems(503, ['banano_node_unavailable', 'event_store_unavailable'])
  @Post()
  @HttpCode(200)
  cancel(@Param() params: PayoutIdParams, @Body() body: CancelPayoutDto, @AdminCommandContext() metadata: CommandMetadata): Promise<CancelPayoutResult> {
    return this.commandBus.execute(new CancelPayoutCommand(params.payoutId.toLowerCase(), body.reason, metadata));
  }
}
