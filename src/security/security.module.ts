import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { type DatabasePool } from 'slonik';
import { DATABASE_POOL } from '../platform/database/database';
import { API_KEYS, ApiKeyGuard } from './api-key.guard';
import { ApiKeys } from './api-keys';

/** API keys, and the guard in front of every route. */
@Module({
  providers: [
    { provide: API_KEYS, inject: [DATABASE_POOL], useFactory: (pool: DatabasePool) => new ApiKeys(pool) },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
})
export class SecurityModule {}
