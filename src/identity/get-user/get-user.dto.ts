import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID, MaxLength, Validate } from 'class-validator';
import { MinPositionQueryDto } from '../../platform/http/paging';
import { INSTANT_LENGTH_MAX, instantMessage, IsInstantConstraint } from '../../platform/http/instant';
import { EXAMPLE } from '../../platform/http/openapi';

export class UserIdParams {
  @ApiProperty({ description: 'The user: the `userId` that `POST /v1/users` answered (a UUID v5 of the Discord id).', example: EXAMPLE.userId })
  @IsUUID('all', { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  @MaxLength(36, { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  readonly userId!: string;
}

const AS_OF_RULE = { message: instantMessage('asOf'), context: { code: 'invalid_as_of' } };

/** `?minPosition=` waits for the read models; `?asOf=` answers from the event store instead. */
export class GetUserQueryDto extends MinPositionQueryDto {
  /** The user's status as it was at this time, folded from the user's events up to it. Not in the future. */
  @ApiPropertyOptional({
    description: 'The user as they were at this time (ISO-8601 with a zone), folded from their events in the event store, with `asOf` and `position` added. Not in the future; not with `minPosition`.',
    example: '2026-01-15T18:30:00Z',
  })
  @IsOptional()
  @MaxLength(INSTANT_LENGTH_MAX, AS_OF_RULE)
  @Validate(IsInstantConstraint, AS_OF_RULE)
  readonly asOf?: string;
}
