import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { DashboardLimit } from '../dashboard-limit';
import { LEADERBOARD_MEASURES, type LeaderboardMeasure } from './leaderboard.view';

export const LEADERBOARD_LIMIT_DEFAULT = 10;

const BY_RULE = { message: `by must be one of ${LEADERBOARD_MEASURES.join(', ')}`, context: { code: 'invalid_leaderboard_by' } } as const;

/** `?by=kills|earned&limit=N` of GET /v1/leaderboard. */
export class GetLeaderboardQueryDto {
  @ApiPropertyOptional({
    description: 'What players are ranked by: `kills` (every kill accrued to them) or `earned` (every raw accrued to them); default `kills`.',
    example: 'kills',
  })
  @IsOptional()
  @IsString(BY_RULE)
  @MaxLength(6, BY_RULE)
  @Matches(new RegExp(`^(${LEADERBOARD_MEASURES.join('|')})$`), BY_RULE)
  readonly by?: LeaderboardMeasure;

  @DashboardLimit(LEADERBOARD_LIMIT_DEFAULT)
  readonly limit?: number;
}
