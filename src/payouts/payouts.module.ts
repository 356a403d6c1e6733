import { Module } from '@nestjs/common';
import { GetPayoutController } from './get-payout/get-payout.controller';
import { ListPayoutsController } from './list-payouts/list-payouts.controller';
import { RunSettlementController } from './run-settlement/run-settlement.controller';
import { RunSettlementHandler } from './run-settlement/run-settlement.handler';

@Module({
  controllers: [RunSettlementController, GetPayoutController, ListPayoutsController],
  providers: [RunSettlementHandler],
})
export class PayoutsModule {}
