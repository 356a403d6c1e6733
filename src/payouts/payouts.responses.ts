import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { EXAMPLE } from '../platform/http/openapi';
import { type CancelPayoutResult } from './cancel-payout/cancel-payout.command';
import { type PayoutView } from './payout.view';
import { type RetryPayoutResult } from './retry-payout/retry-payout.command';
import { type SettlementRunSummary } from './run-settlement/run-settlement.command';

/*
 * The answers of the payout and settlement routes, as the OpenAPI document shows them (SPEC §5
 * shapes). These classes describe only: nothing builds them. Each implements the type its handler
 * returns, so a field added there and forgotten here fails the type check.
 */

const POSITION = { description: 'The position of the event appended, for `?minPosition=`.', type: String, nullable: true, example: '1234' } as const;

@ApiSchema({ name: 'CoveredAccrual' })
export class CoveredAccrualResponse {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.accrualId })
  readonly accrualId!: string;

  @ApiProperty({ description: 'The accrual\'s kills this payout covers: all of them, or part of the last one taken (a split).', type: 'integer', example: 12 })
  readonly kills!: number;
}

@ApiSchema({ name: 'Payout', description: 'A payout of covered kills to the user\'s wallet (SPEC §5, with the attempt record of §4.4).' })
export class PayoutResponse implements PayoutView {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.payoutId })
  readonly payoutId!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ description: 'pending → sent | failed | cancelled; failed → pending again when an admin retries it.', enum: ['pending', 'sent', 'failed', 'cancelled'], example: 'sent' })
  readonly status!: string;

  @ApiProperty({ description: '`dry-run` (sent with a `dryrun-` hash) or `live` (a signed block on chain), fixed when requested.', enum: ['dry-run', 'live'], example: 'live' })
  readonly gateway!: string;

  @ApiProperty({ type: 'integer', example: 12 })
  readonly kills!: number;

  @ApiProperty({ description: 'Exactly the sum of the covered kills × their accruals\' rates.', example: '120000000000000000000000000000' })
  readonly amountRaw!: string;

  @ApiProperty({ example: '1.20000000' })
  readonly amountBan!: string;

  @ApiProperty({ description: 'The primary wallet when the payout was requested.', example: EXAMPLE.address })
  readonly address!: string;

  @ApiProperty({ description: 'SHA-256 hex of the covered accrual ids, sorted and joined by `,` (a split one as `id:j`).', example: '5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592' })
  readonly idempotencyKey!: string;

  @ApiProperty({ description: 'Attempts made so far, across retries.', type: 'integer', example: 1 })
  readonly attemptCount!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.time })
  readonly firstAttemptAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.time })
  readonly lastAttemptAt!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Why the last attempt failed, as the executor recorded it.', example: null })
  readonly lastError!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the executor may try a pending payout again.', example: null })
  readonly nextAttemptAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When it failed for good, while it is failed.', example: null })
  readonly failedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  readonly cancelledAt!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  readonly cancelReason!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The send block\'s hash once signed; `dryrun-<payoutId>` in dry-run.', example: EXAMPLE.blockHash })
  readonly blockHash!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly requestedAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: EXAMPLE.time })
  readonly sentAt!: string | null;

  @ApiProperty({ type: () => [CoveredAccrualResponse] })
  readonly accruals!: CoveredAccrualResponse[];
}

@ApiSchema({ name: 'PlannedPayout' })
export class PlannedPayoutResponse {
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'Null in a preview, which requests nothing.', example: EXAMPLE.payoutId })
  readonly payoutId!: string | null;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ type: 'integer', example: 12 })
  readonly kills!: number;

  @ApiProperty({ example: '120000000000000000000000000000' })
  readonly amountRaw!: string;

  @ApiProperty({ example: '1.20000000' })
  readonly amountBan!: string;
}

@ApiSchema({ name: 'SettlementRun', description: 'A settlement run\'s summary (SPEC §5).' })
export class SettlementRunResponse implements SettlementRunSummary {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.runId })
  readonly runId!: string;

  @ApiProperty({ description: 'The shuffle\'s seed, recorded in SettlementRunStarted.', example: '686fd0a4d78955b6d102f1acbac89e31' })
  readonly seed!: string;

  @ApiProperty({ description: 'true: the plan only; nothing was appended.', example: false })
  readonly preview!: boolean;

  @ApiProperty({ description: 'Users eligible for a payout.', type: 'integer', example: 3 })
  readonly eligible!: number;

  @ApiProperty({ type: 'integer', example: 1 })
  readonly payoutsRequested!: number;

  @ApiProperty({ type: 'integer', example: 12 })
  readonly killsRequested!: number;

  @ApiProperty({ example: '120000000000000000000000000000' })
  readonly amountRequestedRaw!: string;

  @ApiProperty({ example: '1.20000000' })
  readonly amountRequestedBan!: string;

  @ApiProperty({ description: 'Eligible users with no kills payable under the daily or weekly cap.', type: 'integer', example: 1 })
  readonly deferredByCaps!: number;

  @ApiProperty({ description: 'Users whose payout did not fit the operator budget; they roll over.', type: 'integer', example: 0 })
  readonly deferredByBudget!: number;

  @ApiProperty({ description: 'Planned payouts the user\'s own stream refused (a payout in flight, kills claimed, a key already live): those users roll over.', type: 'integer', example: 1 })
  readonly skipped!: number;

  @ApiProperty({ type: String, nullable: true, description: 'Why nothing was requested, when the run could not pay at all (e.g. `operator_seed_not_configured`).', example: null })
  readonly reason!: string | null;

  @ApiProperty({ type: () => [PlannedPayoutResponse] })
  readonly payouts!: PlannedPayoutResponse[];

  @ApiProperty({ ...POSITION, description: 'The position of SettlementRunCompleted; null in a preview.' })
  readonly position!: string | null;
}

@ApiSchema({ name: 'PayoutRetried' })
export class RetryPayoutResponse implements RetryPayoutResult {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.payoutId })
  readonly payoutId!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ enum: ['pending'], example: 'pending' })
  readonly status!: 'pending';

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'PayoutCancelled' })
export class CancelPayoutResponse implements CancelPayoutResult {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.payoutId })
  readonly payoutId!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ enum: ['cancelled'], example: 'cancelled' })
  readonly status!: 'cancelled';

  @ApiProperty(POSITION)
  readonly position!: string | null;
}
