import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { PayoutIdParams } from '../get-payout/get-payout.controller';
import { RetryPayoutCommand, type RetryPayoutResult } from './retry-payout.command';
import { RequiresScope } from '../../security/access';

@RequiresScope('admin')
@Controller('v1/admin/payouts/:payoutId/retry')
export class RetryPayoutController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Gives a failed payout to the executor again: same payout, same key, a new run of attempts.
   * 200 `{payoutId, userId, status: 'pending', position}`; 409 payout_not_failed unless it failed.
   */
  @Post()
  @HttpCode(200)
  retry(@Param() params: PayoutIdParams, @AdminCommandContext() metadata: CommandMetadata): Promise<RetryPayoutResult> {
    return this.commandBus.execute(new RetryPayoutCommand(params.payoutId.toLowerCase(), metadata));
  }
}
