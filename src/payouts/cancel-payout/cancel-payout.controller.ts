import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { PayoutIdParams } from '../get-payout/get-payout.controller';
import { CancelPayoutCommand, type CancelPayoutResult } from './cancel-payout.command';
import { CancelPayoutDto } from './cancel-payout.dto';
import { RequiresScope } from '../../security/access';

@RequiresScope('admin')
@Controller('v1/admin/payouts/:payoutId/cancel')
export class CancelPayoutController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Cancels a failed payout and releases its kills to later settlements.
   * 200 `{payoutId, userId, status: 'cancelled', position}`; 409 payout_not_failed unless it failed.
   */
  @Post()
  @HttpCode(200)
  cancel(@Param() params: PayoutIdParams, @Body() body: CancelPayoutDto, @AdminCommandContext() metadata: CommandMetadata): Promise<CancelPayoutResult> {
    return this.commandBus.execute(new CancelPayoutCommand(params.payoutId.toLowerCase(), body.reason, metadata));
  }
}
