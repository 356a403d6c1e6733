import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { OpenFlagResponse } from '../identity/identity.responses';
import { EXAMPLE } from '../platform/http/openapi';
import { type AccrualView } from './accrual.view';
import { type ClearAbuseFlagResult } from './clear-abuse-flag/clear-abuse-flag.command';
import { type RecordKillsResult } from './record-kills/record-kills.command';

/*
 * The answers of the rewards routes, as the OpenAPI document shows them (SPEC §5 shapes). These
 * classes describe only: nothing builds them. Each implements the type its handler returns, so a
 * field added there and forgotten here fails the type check.
 */

const POSITION = { description: 'The position of the last event appended, for `?minPosition=`.', type: String, nullable: true, example: '1234' } as const;

@ApiSchema({ name: 'Accrual', description: 'The reward of the new kills of one observation (SPEC §5): at most one per user and minute.' })
export class AccrualResponse implements AccrualView {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.accrualId })
  readonly accrualId!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ description: '`floor(unixSeconds / 60)` of the observation.', type: 'integer', example: 29484750 })
  readonly epochMinute!: number;

  @ApiProperty({ description: '`toKillCount − fromKillCount`.', type: 'integer', example: 12 })
  readonly kills!: number;

  @ApiProperty({ description: 'The accrued high-water mark before this accrual.', type: 'integer', example: 1240 })
  readonly fromKillCount!: number;

  @ApiProperty({ description: 'The observed lifetime kill count.', type: 'integer', example: 1252 })
  readonly toKillCount!: number;

  @ApiProperty({ description: 'floor8(base × milestoneMultiplier × sustainabilityFactor), fixed when recorded.', example: '10000000000000000000000000000' })
  readonly ratePerKillRaw!: string;

  @ApiProperty({ example: '0.10000000' })
  readonly ratePerKillBan!: string;

  @ApiProperty({ description: '`kills × ratePerKillRaw`.', example: '120000000000000000000000000000' })
  readonly amountRaw!: string;

  @ApiProperty({ example: '1.20000000' })
  readonly amountBan!: string;

  @ApiProperty({ description: 'The milestone tier\'s multiplier in force.', example: '1.00' })
  readonly milestoneMultiplier!: string;

  @ApiProperty({ description: 'clamp((seedFund + donated) / paidOut, 0.1, 2.0), 4 decimals; 2.0 before any payout.', example: '2.0000' })
  readonly sustainabilityFactor!: string;

  @ApiProperty({ description: 'Whether a sent payout covered all its kills.', example: false })
  readonly settled!: boolean;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The payout that covers it, once one does.', example: null })
  readonly payoutId!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly recordedAt!: string;
}

@ApiSchema({ name: 'KillsRecorded' })
export class RecordKillsResponse implements RecordKillsResult {
  @ApiProperty({ type: () => AccrualResponse, nullable: true, description: 'Null when nothing accrued: no new kills, a second observation in the same minute, or an abuse flag that withholds them.' })
  readonly accrual!: AccrualResponse | null;

  @ApiProperty({ type: () => [OpenFlagResponse], description: 'Abuse flags this observation raised.', example: [] })
  readonly flags!: OpenFlagResponse[];

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'BatchItemError' })
export class BatchItemErrorResponse {
  @ApiProperty({ type: 'integer', example: 422 })
  readonly status!: number;

  @ApiProperty({ description: 'The stable code, as a problem would carry it.', example: 'observed_at_before_previous' })
  readonly code!: string;

  @ApiProperty({ example: 'observedAt is earlier than the previous observation (2026-01-15T18:30:00.000Z)' })
  readonly detail!: string;
}

@ApiSchema({ name: 'BatchItemResult', description: 'One observation\'s outcome: `recorded` (with `accrual`, `flags`, `position`) or `rejected` (with `error`).' })
export class BatchItemResultResponse {
  @ApiProperty({ description: 'The observation\'s index in the request.', type: 'integer', example: 0 })
  readonly index!: number;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ enum: ['recorded', 'rejected'], example: 'recorded' })
  readonly status!: string;

  @ApiProperty({ type: () => AccrualResponse, nullable: true, required: false, description: '`recorded`: as `POST /v1/users/{userId}/kills` answers.' })
  readonly accrual?: AccrualResponse | null;

  @ApiProperty({ type: () => [OpenFlagResponse], required: false, description: '`recorded`: abuse flags raised.', example: [] })
  readonly flags?: OpenFlagResponse[];

  @ApiProperty({ ...POSITION, required: false })
  readonly position?: string | null;

  @ApiProperty({
    type: () => BatchItemErrorResponse,
    required: false,
    description: '`rejected`: the rule the observation broke; the other observations were still recorded.',
  })
  readonly error?: BatchItemErrorResponse;
}

@ApiSchema({ name: 'KillsBatchRecorded' })
export class RecordKillsBatchResponse {
  @ApiProperty({
    type: () => [BatchItemResultResponse],
    description: 'One result per observation, in request order.',
    example: [
      { index: 0, userId: EXAMPLE.userId, status: 'recorded', accrual: null, flags: [], position: '1234' },
      {
        index: 1,
        userId: EXAMPLE.userId,
        status: 'rejected',
        error: { status: 422, code: 'observed_at_before_previous', detail: 'observedAt is earlier than the previous observation (2026-01-15T18:30:00.000Z)' },
      },
    ],
  })
  readonly results!: BatchItemResultResponse[];
}

@ApiSchema({ name: 'AbuseFlagCleared' })
export class ClearAbuseFlagResponse implements ClearAbuseFlagResult {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.flagId })
  readonly flagId!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ enum: ['cleared'], example: 'cleared' })
  readonly status!: 'cleared';

  @ApiProperty(POSITION)
  readonly position!: string | null;
}
