import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSuccess } from '../../platform/http/openapi';
import { Public } from '../../security/access';
import { LeaderboardResponse } from '../dashboard-queries.responses';
import { GetLeaderboardQueryDto, LEADERBOARD_LIMIT_DEFAULT } from './get-leaderboard.dto';
import { GetLeaderboardQuery } from './get-leaderboard.query';
import { type LeaderboardView } from './leaderboard.view';

/** Public: the top players, for the dashboard (SPEC §5). */
@ApiTags('dashboard')
@Public()
@Controller('v1/leaderboard')
export class GetLeaderboardController {
  constructor(private readonly queryBus: QueryBus) {}

  @ApiOperation({
    summary: 'The top players by kills or by BAN earned',
    description:
      'Players ranked by every kill accrued to them (`by=kills`, the default) or by every raw accrued to them (`by=earned`), highest first, ties by user id; ' +
      'players with nothing accrued are left out. Each entry has its 1-based `rank`, what was accrued (`kills`, `earned…`) and the total of their sent payouts (`paid…`). ' +
      'Players are named by `displayName`: `••••` and the last 4 characters of their Discord id, unless the operator set DASHBOARD_SHOW_DISCORD_IDS. From the read models only.',
  })
  @ApiSuccess(200, 'The top players', LeaderboardResponse)
  @Get()
  get(@Query() query: GetLeaderboardQueryDto): Promise<LeaderboardView> {
    return this.queryBus.execute(new GetLeaderboardQuery(query.by ?? 'kills', query.limit ?? LEADERBOARD_LIMIT_DEFAULT));
  }
}
