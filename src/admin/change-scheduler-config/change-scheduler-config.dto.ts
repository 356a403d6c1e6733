import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { FAUCET_CONFIG_BOUNDS } from '../faucet-config/faucet-config.decider';

/** `PUT /v1/admin/config/scheduler`: either or both, at least one. */
export class ChangeSchedulerConfigDto {
  /** Seconds between scheduled settlement runs; 0 stops them (an admin can still trigger one). */
  @ApiPropertyOptional({ description: 'Seconds between scheduled settlement runs; 0 stops them (an admin can still trigger one). The schedulers pick a change up within 30 s.', example: 1200 })
  @IsOptional()
  // Rules are checked from the bottom up, so IsInt goes last: text is refused as not a number, not as out of bounds.
  @Max(FAUCET_CONFIG_BOUNDS.settlementIntervalSecondsMax, {
    message: `settlementIntervalSeconds must be at most ${FAUCET_CONFIG_BOUNDS.settlementIntervalSecondsMax} (a week)`,
    context: { code: 'invalid_settlement_interval_seconds' },
  })
  @Min(0, { message: 'settlementIntervalSeconds must not be negative', context: { code: 'invalid_settlement_interval_seconds' } })
  @IsInt({ message: 'settlementIntervalSeconds must be a whole number', context: { code: 'invalid_settlement_interval_seconds' } })
  readonly settlementIntervalSeconds?: number;

  /** Users taken per run after the shuffle; 0 takes them all. */
  @ApiPropertyOptional({ description: 'Users taken per run after the shuffle; 0 takes them all.', example: 0 })
  @IsOptional()
  @Max(FAUCET_CONFIG_BOUNDS.settlementBatchSizeMax, {
    message: `settlementBatchSize must be at most ${FAUCET_CONFIG_BOUNDS.settlementBatchSizeMax}`,
    context: { code: 'invalid_settlement_batch_size' },
  })
  @Min(0, { message: 'settlementBatchSize must not be negative', context: { code: 'invalid_settlement_batch_size' } })
  @IsInt({ message: 'settlementBatchSize must be a whole number', context: { code: 'invalid_settlement_batch_size' } })
  readonly settlementBatchSize?: number;
}
