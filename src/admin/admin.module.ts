import { Module } from '@nestjs/common';
import { ChangePayoutConfigController } from './change-payout-config/change-payout-config.controller';
import { ChangePayoutConfigHandler } from './change-payout-config/change-payout-config.handler';
import { ChangeSchedulerConfigController } from './change-scheduler-config/change-scheduler-config.controller';
import { ChangeSchedulerConfigHandler } from './change-scheduler-config/change-scheduler-config.handler';
import { GetAdminStatsController } from './get-admin-stats/get-admin-stats.controller';

/** The operator's own routes: the settings that change while the service runs, and the stats. */
@Module({
  controllers: [ChangePayoutConfigController, ChangeSchedulerConfigController, GetAdminStatsController],
  providers: [ChangePayoutConfigHandler, ChangeSchedulerConfigHandler],
})
export class AdminModule {}
