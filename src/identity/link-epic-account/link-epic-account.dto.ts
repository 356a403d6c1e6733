import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

/** No Fortnite account has ten million kills; anything above is a broken integration. */
export const LIFETIME_KILLS_MAX = 10_000_000;

export class LinkEpicAccountDto {
  /** An Epic account id: 32 hexadecimal characters. */
  @ApiProperty({ description: 'The Epic account id: 32 hexadecimal characters.', example: '0123456789abcdef0123456789abcdef' })
  @IsDefined({ message: 'epicAccountId is required', context: { code: 'epic_account_id_required' } })
  @IsString({ message: 'epicAccountId must be a string', context: { code: 'invalid_epic_account_id' } })
  @MaxLength(32, { message: 'epicAccountId must be 32 hexadecimal characters', context: { code: 'invalid_epic_account_id' } })
  @Matches(/^[0-9a-fA-F]{32}$/, { message: 'epicAccountId must be 32 hexadecimal characters', context: { code: 'invalid_epic_account_id' } })
  readonly epicAccountId!: string;

  /** The lifetime kill count to use as baseline; when absent it is read from the stats API. */
  @ApiPropertyOptional({
    description: 'The lifetime kill count to use as the baseline: kills up to it are never paid. When absent it is read from the Fortnite stats API (422 `lifetime_kills_required` when none is configured).',
    example: 1200,
  })
  @IsOptional()
  // Rules are checked from the bottom up, so IsInt goes last: text is refused as not a number, not as out of bounds.
  @Max(LIFETIME_KILLS_MAX, { message: `lifetimeKills must be at most ${LIFETIME_KILLS_MAX}`, context: { code: 'invalid_lifetime_kills' } })
  @Min(0, { message: 'lifetimeKills must not be negative', context: { code: 'invalid_lifetime_kills' } })
  @IsInt({ message: 'lifetimeKills must be an integer', context: { code: 'invalid_lifetime_kills' } })
  readonly lifetimeKills?: number;
}
