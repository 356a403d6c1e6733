import { IsOptional, IsUUID, Matches } from 'class-validator';

export class UserIdParams {
  @IsUUID('all', { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  readonly userId!: string;
}

export class GetUserQueryDto {
  /** A `position` returned by a command; the answer then includes that command's effect. */
  @IsOptional()
  @Matches(/^[0-9]{1,19}$/, { message: 'minPosition must be a position returned by a command', context: { code: 'invalid_min_position' } })
  readonly minPosition?: string;
}
