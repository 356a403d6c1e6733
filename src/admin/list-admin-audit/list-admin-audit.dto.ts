import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches, MaxLength, Validate } from 'class-validator';
import { INSTANT_LENGTH_MAX, instantMessage, IsInstantConstraint } from '../../platform/http/instant';
import { EXAMPLE } from '../../platform/http/openapi';
import { PageQueryDto } from '../../platform/http/paging';

/** The filters of `GET /v1/admin/audit`, all optional and combined with AND. */
export class ListAdminAuditQueryDto extends PageQueryDto {
  /** e.g. `payout.cancel`, `config.payout`, `settlement.run`. */
  @ApiPropertyOptional({ description: 'Only this action, e.g. `payout.cancel`, `config.payout`, `settlement.run`.', example: 'payout.cancel' })
  @IsOptional()
  @MaxLength(81, { message: 'action is too long', context: { code: 'invalid_action' } })
  @Matches(/^[a-z_]{1,40}\.[a-z_]{1,40}$/, { message: 'action must look like payout.cancel', context: { code: 'invalid_action' } })
  readonly action?: string;

  /** The name of the admin's API key. */
  @ApiPropertyOptional({ description: 'Only actions by this admin API key (its name).', example: 'ops' })
  @IsOptional()
  @MaxLength(64, { message: 'actor is too long', context: { code: 'invalid_actor' } })
  @Matches(/^[a-z0-9][a-z0-9._:-]{0,63}$/, { message: 'actor must be an API key name', context: { code: 'invalid_actor' } })
  readonly actor?: string;

  /** e.g. `payout`, `abuse_flag`, `config`, `user`. */
  @ApiPropertyOptional({ description: 'Only actions on this kind of target, e.g. `payout`, `abuse_flag`, `config`, `user`.', example: 'payout' })
  @IsOptional()
  @MaxLength(40, { message: 'targetType is too long', context: { code: 'invalid_target_type' } })
  @Matches(/^[a-z_]{1,40}$/, { message: 'targetType must be a word like payout', context: { code: 'invalid_target_type' } })
  readonly targetType?: string;

  @ApiPropertyOptional({ description: 'Only actions on this target (a payout id, a flag id, …).', example: EXAMPLE.payoutId })
  @IsOptional()
  @MaxLength(128, { message: 'targetId is too long', context: { code: 'invalid_target_id' } })
  @Matches(/^[A-Za-z0-9_:.-]{1,128}$/, { message: 'targetId must be an id', context: { code: 'invalid_target_id' } })
  readonly targetId?: string;

  /** Inclusive lower bound on the time of the action (ISO-8601 with a zone). */
  @ApiPropertyOptional({ description: 'Only actions at or after this time (ISO-8601 with a zone).', example: '2026-01-01T00:00:00Z' })
  @IsOptional()
  @MaxLength(INSTANT_LENGTH_MAX, { message: instantMessage('since'), context: { code: 'invalid_since' } })
  @Validate(IsInstantConstraint, { message: instantMessage('since'), context: { code: 'invalid_since' } })
  readonly since?: string;

  /** Exclusive upper bound on the time of the action (ISO-8601 with a zone). */
  @ApiPropertyOptional({ description: 'Only actions before this time (ISO-8601 with a zone).', example: '2026-02-01T00:00:00Z' })
  @IsOptional()
  @MaxLength(INSTANT_LENGTH_MAX, { message: instantMessage('until'), context: { code: 'invalid_until' } })
  @Validate(IsInstantConstraint, { message: instantMessage('until'), context: { code: 'invalid_until' } })
  readonly until?: string;
}
