import { IsISO8601, IsOptional, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../platform/http/paging';

/** The filters of `GET /v1/admin/audit`, all optional and combined with AND. */
export class ListAdminAuditQueryDto extends PageQueryDto {
  /** e.g. `payout.cancel`, `config.payout`, `settlement.run`. */
  @IsOptional()
  @MaxLength(81, { message: 'action is too long', context: { code: 'invalid_action' } })
  @Matches(/^[a-z_]{1,40}\.[a-z_]{1,40}$/, { message: 'action must look like payout.cancel', context: { code: 'invalid_action' } })
  readonly action?: string;

  /** The name of the admin's API key. */
  @IsOptional()
  @MaxLength(64, { message: 'actor is too long', context: { code: 'invalid_actor' } })
  @Matches(/^[a-z0-9][a-z0-9._:-]{0,63}$/, { message: 'actor must be an API key name', context: { code: 'invalid_actor' } })
  readonly actor?: string;

  /** e.g. `payout`, `abuse_flag`, `config`, `user`. */
  @IsOptional()
  @MaxLength(40, { message: 'targetType is too long', context: { code: 'invalid_target_type' } })
  @Matches(/^[a-z_]{1,40}$/, { message: 'targetType must be a word like payout', context: { code: 'invalid_target_type' } })
  readonly targetType?: string;

  @IsOptional()
  @MaxLength(128, { message: 'targetId is too long', context: { code: 'invalid_target_id' } })
  @Matches(/^[A-Za-z0-9_:.-]{1,128}$/, { message: 'targetId must be an id', context: { code: 'invalid_target_id' } })
  readonly targetId?: string;

  /** Inclusive lower bound on the time of the action (ISO-8601). */
  @IsOptional()
  @MaxLength(40, { message: 'since must be an ISO-8601 time', context: { code: 'invalid_since' } })
  @IsISO8601({ strict: true }, { message: 'since must be an ISO-8601 time', context: { code: 'invalid_since' } })
  readonly since?: string;

  /** Exclusive upper bound on the time of the action (ISO-8601). */
  @IsOptional()
  @MaxLength(40, { message: 'until must be an ISO-8601 time', context: { code: 'invalid_until' } })
  @IsISO8601({ strict: true }, { message: 'until must be an ISO-8601 time', context: { code: 'invalid_until' } })
  readonly until?: string;
}
