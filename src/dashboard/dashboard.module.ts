import { Module } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../platform/config/config';
import { DASHBOARD_FILES, dashboardFiles, readDashboardSources } from './dashboard-files';
import { DashboardController } from './dashboard.controller';

/**
 * The public dashboard page (`/`). Its files are read and the page rendered once, as the
 * application starts: a missing file stops the start-up rather than the first visitor.
 */
@Module({
  controllers: [DashboardController],
  providers: [{ provide: DASHBOARD_FILES, inject: [LEDGER_CONFIG], useFactory: (config: LedgerConfig) => dashboardFiles(readDashboardSources(), config.product) }],
})
export class DashboardModule {}
