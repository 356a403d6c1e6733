import { Module } from '@nestjs/common';
import { GetFeedController } from './feed/get-feed.controller';
import { GetFeedHandler } from './feed/get-feed.handler';
import { GetLeaderboardController } from './leaderboard/get-leaderboard.controller';
import { GetLeaderboardHandler } from './leaderboard/get-leaderboard.handler';

/**
 * The public dashboard's queries (SPEC §5: GET /v1/leaderboard, GET /v1/feed): no key, read models
 * only, bounded by `limit`, and players named by a masked Discord id (display-name.ts).
 */
@Module({
  controllers: [GetLeaderboardController, GetFeedController],
  providers: [GetLeaderboardHandler, GetFeedHandler],
})
export class DashboardQueriesModule {}
