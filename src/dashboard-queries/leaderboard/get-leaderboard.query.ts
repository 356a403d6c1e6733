import { type LeaderboardMeasure } from './leaderboard.view';

/** The top `limit` players by `by` (SPEC §5 GET /v1/leaderboard). */
export class GetLeaderboardQuery {
  constructor(
    readonly by: LeaderboardMeasure,
    /** 1 to 100, checked by the DTO. */
    readonly limit: number,
  ) {}
}
