import { Module } from '@nestjs/common';
import { TreasuryModule } from '../treasury/treasury.module';
import { CancelPayoutController } from './cancel-payout/cancel-payout.controller';
import { CancelPayoutHandler } from './cancel-payout/cancel-payout.handler';
import { GetPayoutController } from './get-payout/get-payout.controller';
import { ListPayoutsController } from './list-payouts/list-payouts.controller';
import { RetryPayoutController } from './retry-payout/retry-payout.controller';
import { RetryPayoutHandler } from './retry-payout/retry-payout.handler';
import { RunSettlementController } from './run-settlement/run-settlement.controller';
import { RunSettlementHandler } from './run-settlement/run-settlement.handler';

@Module({
  imports: [TreasuryModule],
  controllers: [RunSettlementController, RetryPayoutController, CancelPayoutController, GetPayoutController, ListPayoutsController],
  providers: [RunSettlementHandler, RetryPayoutHandler, CancelPayoutHandler],
})
export class PayoutsModule {}
