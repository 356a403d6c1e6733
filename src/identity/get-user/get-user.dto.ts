import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsUUID, MaxLength, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { MinPositionQueryDto } from '../../platform/http/paging';
import { AS_OF_LENGTH_MAX, parseAsOfTime } from '../user-audit/as-of-cut';
import { EXAMPLE } from '../../platform/http/openapi';

export class UserIdParams {
  @ApiProperty({ description: 'The user: the `userId` that `POST /v1/users` answered (a UUID v5 of the Discord id).', example: EXAMPLE.userId })
  @IsUUID('all', { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  @MaxLength(36, { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  readonly userId!: string;
}

const AS_OF_MESSAGE = 'asOf must be an ISO-8601 date and time with a zone, such as 2026-05-01T12:00:00Z';
const AS_OF_CODE = { message: AS_OF_MESSAGE, context: { code: 'invalid_as_of' } };

/** ISO-8601 admits forms Date cannot hold (week dates, years past 275760): refused here, never a 500. */
@ValidatorConstraint({ name: 'isAsOfTime' })
export class IsAsOfTimeConstraint implements ValidatorConstraintInterface {
  /** What an OpenAPI schema can say of the rule (src/platform/http/openapi.ts reads it). */
  static readonly openApi = { type: 'string', format: 'date-time', maxLength: AS_OF_LENGTH_MAX } as const;

  validate(value: unknown): boolean {
    return parseAsOfTime(value) !== null;
  }

  defaultMessage(): string {
    return AS_OF_MESSAGE;
  }
}

/** `?minPosition=` waits for the read models; `?asOf=` answers from the event store instead. */
export class GetUserQueryDto extends MinPositionQueryDto {
  /** The user's status as it was at this time, folded from the user's events up to it. Not in the future. */
  @ApiPropertyOptional({
    description: 'The user as they were at this time (ISO-8601 with a zone), folded from their events in the event store, with `asOf` and `position` added. Not in the future; not with `minPosition`.',
    example: '2026-01-15T18:30:00Z',
  })
  @IsOptional()
  @MaxLength(AS_OF_LENGTH_MAX, AS_OF_CODE)
  @IsISO8601({ strict: true, strictSeparator: true }, AS_OF_CODE)
  @Validate(IsAsOfTimeConstraint, { context: { code: 'invalid_as_of' } })
  readonly asOf?: string;
}
