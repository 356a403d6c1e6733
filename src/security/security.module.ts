import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { type DatabasePool } from 'slonik';
import { LEDGER_CONFIG, type LedgerConfig } from '../platform/config/config';
import { DATABASE_POOL } from '../platform/database/database';
import { API_KEYS, ApiKeyGuard } from './api-key.guard';
import { CachingApiKeys } from './api-keys';
import { RATE_LIMITS, RateLimits } from './rate-limits';

/**
 * API keys, the guard in front of every route, and the rate limits, which createHttpApp hooks in
 * ahead of everything else (they must also count requests no route or guard ever sees).
 */
@Module({
  providers: [
    { provide: API_KEYS, inject: [DATABASE_POOL], useFactory: (pool: DatabasePool) => new CachingApiKeys(pool) },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: RATE_LIMITS, inject: [LEDGER_CONFIG], useFactory: (config: LedgerConfig) => new RateLimits(config.rateLimit) },
  ],
})
export class SecurityModule {}
