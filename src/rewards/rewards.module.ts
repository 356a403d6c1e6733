import { Module } from '@nestjs/common';
import { ClearAbuseFlagController } from './clear-abuse-flag/clear-abuse-flag.controller';
import { ClearAbuseFlagHandler } from './clear-abuse-flag/clear-abuse-flag.handler';
import { RateFactorsSource } from './economics/rate-factors.source';
import { ListAccrualsController } from './list-accruals/list-accruals.controller';
import { ListAccrualsHandler } from './list-accruals/list-accruals.handler';
import { RecordKillsController } from './record-kills/record-kills.controller';
import { RecordKillsHandler } from './record-kills/record-kills.handler';

@Module({
  controllers: [RecordKillsController, ListAccrualsController, ClearAbuseFlagController],
  providers: [RateFactorsSource, RecordKillsHandler, ListAccrualsHandler, ClearAbuseFlagHandler],
  exports: [RateFactorsSource],
})
export class RewardsModule {}
