import { DashboardLimit } from '../dashboard-limit';

export const FEED_LIMIT_DEFAULT = 20;

/** `?limit=N` of GET /v1/feed. */
export class GetFeedQueryDto {
  @DashboardLimit(FEED_LIMIT_DEFAULT)
  readonly limit?: number;
}
