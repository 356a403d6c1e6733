import { Module } from '@nestjs/common';
import { RateFactorsSource } from './economics/rate-factors.source';
import { ListAccrualsController } from './list-accruals/list-accruals.controller';
import { ListAccrualsHandler } from './list-accruals/list-accruals.handler';
import { RecordKillsController } from './record-kills/record-kills.controller';
import { RecordKillsHandler } from './record-kills/record-kills.handler';

@Module({
  controllers: [RecordKillsController, ListAccrualsController],
  providers: [RateFactorsSource, RecordKillsHandler, ListAccrualsHandler],
  exports: [RateFactorsSource],
})
export class RewardsModule {}
