import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { EXAMPLE } from '../platform/http/openapi';
import { type OperatorSeedStatus } from '../security/secure-config/stored-operator-seed';
import { type ChangePayoutConfigResult } from './change-payout-config/change-payout-config.command';
import { type ChangeSchedulerConfigResult } from './change-scheduler-config/change-scheduler-config.command';
import { type AdminAuditEntry } from './list-admin-audit/list-admin-audit.controller';

/*
 * The answers of the admin routes, as the OpenAPI document shows them. These classes describe
 * only: nothing builds them. Each implements the type its handler returns, so a field added there
 * and forgotten here fails the type check. The stats report is documented by example, on its route.
 */

const POSITION = {
  description: 'The position of the event appended, for `?minPosition=`; null when the change asked for what was in force and nothing was appended.',
  type: String,
  nullable: true,
  example: '1234',
} as const;

const CHANGED_DESCRIPTION = 'The settings this change altered; empty when all were already in force.';

@ApiSchema({ name: 'PayoutSettings' })
export class PayoutSettingsResponse {
  @ApiProperty({ example: '5000000000000000000000000000' })
  readonly banPerKillRaw!: string;

  @ApiProperty({ example: '0.05000000' })
  readonly banPerKillBan!: string;

  @ApiProperty({ type: 'integer', example: 150 })
  readonly dailyKillCap!: number;

  @ApiProperty({ type: 'integer', example: 750 })
  readonly weeklyKillCap!: number;

  @ApiProperty({ example: '5000000000000000000000000000000' })
  readonly minOperatorBalanceRaw!: string;

  @ApiProperty({ example: '50.00000000' })
  readonly minOperatorBalanceBan!: string;
}

@ApiSchema({ name: 'PayoutConfigChange' })
export class ChangePayoutConfigResponse implements ChangePayoutConfigResult {
  @ApiProperty({ type: () => PayoutSettingsResponse, description: 'The payout settings in force after the change.' })
  readonly payout!: PayoutSettingsResponse;

  @ApiProperty({ type: [String], description: CHANGED_DESCRIPTION, example: ['dailyKillCap'] })
  readonly changed!: string[];

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'SchedulerSettings' })
export class SchedulerSettingsResponse {
  @ApiProperty({ description: 'Seconds between scheduled settlement runs; 0: only on an admin trigger.', type: 'integer', example: 1200 })
  readonly settlementIntervalSeconds!: number;

  @ApiProperty({ description: 'Users taken per run after the shuffle; 0: all.', type: 'integer', example: 0 })
  readonly settlementBatchSize!: number;
}

@ApiSchema({ name: 'SchedulerConfigChange' })
export class ChangeSchedulerConfigResponse implements ChangeSchedulerConfigResult {
  @ApiProperty({ type: () => SchedulerSettingsResponse, description: 'The schedule in force after the change.' })
  readonly scheduler!: SchedulerSettingsResponse;

  @ApiProperty({ type: [String], description: CHANGED_DESCRIPTION, example: ['settlementIntervalSeconds'] })
  readonly changed!: string[];

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'OperatorSeedStatus', description: 'Never the seed.' })
export class OperatorSeedStatusResponse implements OperatorSeedStatus {
  @ApiProperty({ description: 'Whether an operator seed is stored (or read from BANANO_OPERATOR_SEED_FILE).', example: true })
  readonly configured!: boolean;

  @ApiProperty({ type: String, nullable: true, description: 'The operator account: index 0 of the seed.', example: EXAMPLE.address })
  readonly address!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The id (a hash, not the key) of the master key the stored seed is encrypted under; null for none or for the file\'s seed.',
    example: '3f9a2c71d0b45e68',
  })
  readonly keyId!: string | null;
}

@ApiSchema({ name: 'AuditTarget' })
export class AuditTargetResponse {
  @ApiProperty({ enum: ['settlement_run', 'payout', 'abuse_flag', 'user', 'config', 'secure_config', 'donation'], example: 'payout' })
  readonly type!: string;

  @ApiProperty({ example: EXAMPLE.payoutId })
  readonly id!: string;
}

@ApiSchema({ name: 'AdminAuditEntry' })
export class AdminAuditEntryResponse implements AdminAuditEntry {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.eventId })
  readonly eventId!: string;

  @ApiProperty({ description: 'The event\'s position in `$all`.', example: '1234' })
  readonly position!: string;

  @ApiProperty({
    enum: ['settlement.run', 'payout.retry', 'payout.cancel', 'abuse_flag.clear', 'user.reverify', 'config.payout', 'config.scheduler', 'secure_config.set', 'secure_config.rotated', 'donations.rebuild'],
    example: 'payout.cancel',
  })
  readonly action!: string;

  @ApiProperty({ description: 'The admin API key\'s name (`cli` for a master key rotation).', example: 'ops' })
  readonly actor!: string;

  @ApiProperty({ description: 'The request\'s X-Request-Id (or the one generated).', example: 'ops-console-17' })
  readonly requestId!: string;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  readonly clientIp!: string | null;

  @ApiProperty({ type: () => AuditTargetResponse })
  readonly target!: AuditTargetResponse;

  @ApiProperty({ description: 'The action in words.', example: 'Payout cancelled: the wallet was lost' })
  readonly summary!: string;

  @ApiProperty({ example: 'PayoutCancelled' })
  readonly eventType!: string;

  @ApiProperty({ example: `user-${EXAMPLE.userId}` })
  readonly streamName!: string;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly occurredAt!: string;
}
