import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSuccess } from '../../platform/http/openapi';
import { Public } from '../../security/access';
import { FeedResponse } from '../dashboard-queries.responses';
import { FEED_LIMIT_DEFAULT, GetFeedQueryDto } from './get-feed.dto';
import { GetFeedQuery } from './get-feed.query';
import { type FeedView } from './feed.view';

/** Public: what just happened, for the dashboard (SPEC §5). */
@ApiTags('dashboard')
@Public()
@Controller('v1/feed')
export class GetFeedController {
  constructor(private readonly queryBus: QueryBus) {}

  @ApiOperation({
    summary: 'The newest accruals and payouts, together',
    description:
      'Accruals (at their recording time) and payouts of every status (at their sent time once sent, else their request time), newest first. ' +
      '`gateway` says whether the service pays live or dry; a payout is `dryRun` when the dry-run gateway sent it (or will), and only a live block has a `blockUrl` on the explorer (BANANO_EXPLORER_BLOCK_URL). ' +
      'Players are named by `displayName`, as on the leaderboard. From the read models only.',
  })
  @ApiSuccess(200, 'The newest accruals and payouts', FeedResponse)
  @Get()
  get(@Query() query: GetFeedQueryDto): Promise<FeedView> {
    return this.queryBus.execute(new GetFeedQuery(query.limit ?? FEED_LIMIT_DEFAULT));
  }
}
