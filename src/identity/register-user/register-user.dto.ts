import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { type OpenApiDescribedConstraint } from '../../platform/http/openapi';
import { IsDefined, IsOptional, IsString, Matches, MaxLength, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';

const DISCORD_USER_ID_MESSAGE = 'discordUserId must be a Discord snowflake: 17 to 20 digits, without a leading zero, at most 18446744073709551615';

/** A snowflake is an unsigned 64-bit integer, so 20 digits can name more than any snowflake is. */
const SNOWFLAKE_MAX = 2n ** 64n - 1n;

@ValidatorConstraint({ name: 'isSnowflakeInRange' })
class IsSnowflakeInRangeConstraint implements ValidatorConstraintInterface {
  /** What OpenAPI can say of the rule: the digits (the description gives the largest value). */
  static readonly openApi: OpenApiDescribedConstraint['openApi'] = { type: 'string', pattern: '^[1-9][0-9]{16,19}$' };

  validate(value: unknown): boolean {
    return typeof value === 'string' && /^[0-9]{1,20}$/.test(value) && BigInt(value) <= SNOWFLAKE_MAX;
  }
}

export class RegisterUserDto {
  /**
   * A Discord user id (a snowflake): 17 to 20 decimal digits, as a string, without a leading zero.
   * The user id is derived from this string, so `0123…` would register the player of `123…` again
   * as someone else; Discord never writes a snowflake that way.
   */
  @ApiProperty({ description: 'The player\'s Discord user id (a snowflake): 17 to 20 decimal digits without a leading zero, at most 18446744073709551615 (2^64 − 1), as a string.', example: '123456789012345678' })
  @IsDefined({ message: 'discordUserId is required', context: { code: 'discord_user_id_required' } })
  @IsString({ message: 'discordUserId must be a string', context: { code: 'invalid_discord_user_id' } })
  @MaxLength(20, { message: DISCORD_USER_ID_MESSAGE, context: { code: 'invalid_discord_user_id' } })
  @Matches(/^[1-9][0-9]{16,19}$/, { message: DISCORD_USER_ID_MESSAGE, context: { code: 'invalid_discord_user_id' } })
  @Validate(IsSnowflakeInRangeConstraint, { message: DISCORD_USER_ID_MESSAGE, context: { code: 'invalid_discord_user_id' } })
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
