import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsString, Length } from 'class-validator';

/** Long enough for a sentence or two of why, short enough to list in the audit trail. */
export const REASON_LENGTH_MAX = 500;

/** The body of an admin action that must say why: `{reason}`, stored without surrounding whitespace. */
export class ReasonDto {
  @ApiProperty({ description: 'Why, for the audit trail: 1 to 500 characters, stored without surrounding whitespace.', example: 'The player lost access to this wallet' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsDefined({ message: 'reason is required', context: { code: 'reason_required' } })
  @IsString({ message: 'reason must be a string', context: { code: 'invalid_reason' } })
  @Length(1, REASON_LENGTH_MAX, {
    message: `reason must be 1 to ${REASON_LENGTH_MAX} characters, not counting surrounding whitespace`,
    context: { code: 'invalid_reason' },
  })
  readonly reason!: string;
}
