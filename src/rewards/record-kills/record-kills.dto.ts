import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsDefined, IsInt, IsObject, IsOptional, IsUUID, Max, MaxLength, Min, Validate, ValidateNested } from 'class-validator';
import { LIFETIME_KILLS_MAX } from '../../identity/link-epic-account/link-epic-account.dto';
import { INSTANT_LENGTH_MAX, instantMessage, IsInstantConstraint } from '../../platform/http/instant';
import { EXAMPLE } from '../../platform/http/openapi';

export const BATCH_OBSERVATIONS_MAX = 1_000;

export class RecordKillsDto {
  @ApiProperty({ description: 'The player\'s lifetime kill count L as the stats API gives it. Kills above the accrued high-water mark accrue.', example: 1252 })
  // Rules are checked from the bottom up, so IsInt goes last: text is refused as not a number, not as out of bounds.
  @IsDefined({ message: 'lifetimeKills is required', context: { code: 'lifetime_kills_required' } })
  @Max(LIFETIME_KILLS_MAX, { message: `lifetimeKills must be at most ${LIFETIME_KILLS_MAX}`, context: { code: 'invalid_lifetime_kills' } })
  @Min(0, { message: 'lifetimeKills must not be negative', context: { code: 'invalid_lifetime_kills' } })
  @IsInt({ message: 'lifetimeKills must be an integer', context: { code: 'invalid_lifetime_kills' } })
  readonly lifetimeKills!: number;

  /** When the count was read, ISO-8601 with a time zone; stamped by the ledger when absent (see observeKills). */
  @ApiPropertyOptional({
    description:
      'When the count was read (ISO-8601 with a time zone): at most 60 s in the future, and not before the user\'s previous observation. ' +
      'When absent, the ledger stamps it: now, or the previous observation\'s time when that is later, so it is never refused for its time.',
    example: '2026-01-15T18:30:00Z',
  })
  @IsOptional()
  @MaxLength(INSTANT_LENGTH_MAX, { message: instantMessage('observedAt'), context: { code: 'invalid_observed_at' } })
  @Validate(IsInstantConstraint, { message: instantMessage('observedAt'), context: { code: 'invalid_observed_at' } })
  readonly observedAt?: string;
}

export class BatchObservationDto extends RecordKillsDto {
  @ApiProperty({ description: 'The observed user.', example: EXAMPLE.userId })
  @IsDefined({ message: 'userId is required', context: { code: 'user_id_required' } })
  @IsUUID('all', { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  @MaxLength(36, { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  readonly userId!: string;
}

export class RecordKillsBatchDto {
  // class-validator checks IsDefined first and the other rules from the bottom up, stopping at
  // the first failure: IsArray sits lowest so a non-array is reported as such. ValidateNested
  // accepts an array where an object belongs (and validates its items instead), so IsObject
  // refuses `[[…]]` before it: the handler would otherwise read userId of an array, a 500.
  @ApiProperty({ description: 'One to 1,000 observations, applied per user in order.' })
  @IsDefined({ message: 'observations is required', context: { code: 'observations_required' } })
  @IsObject({ each: true, message: 'each observation must be an object', context: { code: 'invalid_observations' } })
  @ArrayMaxSize(BATCH_OBSERVATIONS_MAX, { message: `at most ${BATCH_OBSERVATIONS_MAX} observations per batch`, context: { code: 'batch_too_large' } })
  @ArrayMinSize(1, { message: 'observations must not be empty', context: { code: 'invalid_observations' } })
  @IsArray({ message: 'observations must be an array', context: { code: 'invalid_observations' } })
  @ValidateNested({ each: true })
  @Type(() => BatchObservationDto)
  readonly observations!: BatchObservationDto[];
}
