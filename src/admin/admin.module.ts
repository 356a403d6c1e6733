import { Module } from '@nestjs/common';
import { ChangePayoutConfigController } from './change-payout-config/change-payout-config.controller';
import { ChangePayoutConfigHandler } from './change-payout-config/change-payout-config.handler';
import { ChangeSchedulerConfigController } from './change-scheduler-config/change-scheduler-config.controller';
import { ChangeSchedulerConfigHandler } from './change-scheduler-config/change-scheduler-config.handler';
import { GetAdminStatsController } from './get-admin-stats/get-admin-stats.controller';
import { ListAdminAuditController } from './list-admin-audit/list-admin-audit.controller';
import { ReverifyUserController } from './reverify-user/reverify-user.controller';

/** The operator's own routes: settings, stats, the audit, and actions on users no integration may take. */
@Module({
  controllers: [ChangePayoutConfigController, ChangeSchedulerConfigController, GetAdminStatsController, ListAdminAuditController, ReverifyUserController],
  providers: [ChangePayoutConfigHandler, ChangeSchedulerConfigHandler],
})
export class AdminModule {}
