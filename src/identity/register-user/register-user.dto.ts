import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const DISCORD_USER_ID_MESSAGE = 'discordUserId must be a Discord snowflake: 17 to 20 digits, without a leading zero';

export class RegisterUserDto {
  /**
   * A Discord user id (a snowflake): 17 to 20 decimal digits, as a string, without a leading zero.
   * The user id is derived from this string, so `0123…` would register the player of `123…` again
   * as someone else; Discord never writes a snowflake that way.
   */
  @ApiProperty({ description: 'The player\'s Discord user id (a snowflake): 17 to 20 decimal digits without a leading zero, as a string.', example: '123456789012345678' })
  @IsDefined({ message: 'discordUserId is required', context: { code: 'discord_user_id_required' } })
  @IsString({ message: 'discordUserId must be a string', context: { code: 'invalid_discord_user_id' } })
  @MaxLength(20, { message: DISCORD_USER_ID_MESSAGE, context: { code: 'invalid_discord_user_id' } })
  @Matches(/^[1-9][0-9]{16,19}$/, { message: DISCORD_USER_ID_MESSAGE, context: { code: 'invalid_discord_user_id' } })
  readonly discordUserId!: string;

  /** A short region label such as `EU` or `NAE`, for analytics. */
  @ApiPropertyOptional({ description: 'A short region label such as `EU` or `NAE`, for analytics.', example: 'EU' })
  @IsOptional()
  @IsString({ message: 'regionCode must be a string', context: { code: 'invalid_region_code' } })
  @MaxLength(16, { message: 'regionCode must be 2 to 16 letters, digits or dashes', context: { code: 'invalid_region_code' } })
  @Matches(/^[A-Za-z0-9-]{2,16}$/, {
    message: 'regionCode must be 2 to 16 letters, digits or dashes',
    context: { code: 'invalid_region_code' },
  })
  readonly regionCode?: string;
}
