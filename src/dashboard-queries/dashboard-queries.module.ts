import { Module } from '@nestjs/common';
import { type DatabasePool } from 'slonik';
import { DATABASE_POOL } from '../platform/database/database';
import { GetFeedController } from './feed/get-feed.controller';
import { GetFeedHandler } from './feed/get-feed.handler';
import { GetLeaderboardController } from './leaderboard/get-leaderboard.controller';
import { GetLeaderboardHandler } from './leaderboard/get-leaderboard.handler';
import { PublicIds } from './public-ids';

/**
 * The public dashboard's queries (SPEC §5: GET /v1/leaderboard, GET /v1/feed): no key, read models
 * only, bounded by `limit`, and players named by a masked Discord id (display-name.ts) and an
 * opaque public id (public-ids.ts).
 */
@Module({
  controllers: [GetLeaderboardController, GetFeedController],
  providers: [GetLeaderboardHandler, GetFeedHandler, { provide: PublicIds, inject: [DATABASE_POOL], useFactory: (pool: DatabasePool) => new PublicIds(pool) }],
})
export class DashboardQueriesModule {}
