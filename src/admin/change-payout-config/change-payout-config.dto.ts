import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { RAW_PER_BAN } from '../../platform/money';
import { FAUCET_CONFIG_BOUNDS } from '../faucet-config/faucet-config.decider';

/** A BAN amount as a decimal string (money never travels as a JSON number): up to 11 digits, 8 decimals. */
const BAN_TEXT = /^[0-9]{1,11}(\.[0-9]{1,8})?$/;
const BAN_TEXT_LENGTH_MAX = 20;

/** SPEC §5 `PUT /v1/admin/config/payout`: any of the four, at least one. */
export class ChangePayoutConfigDto {
  @ApiPropertyOptional({ description: `The base reward per kill, in BAN, as a decimal string (money never travels as a JSON number): above 0, at most ${FAUCET_CONFIG_BOUNDS.banPerKillRawMax / RAW_PER_BAN}, at most 8 decimals.`, example: '0.05' })
  @IsOptional()
  @IsString({ message: 'banPerKill must be a decimal string of BAN, e.g. "0.05"', context: { code: 'invalid_ban_per_kill' } })
  @MaxLength(BAN_TEXT_LENGTH_MAX, { message: 'banPerKill is too long', context: { code: 'invalid_ban_per_kill' } })
  @Matches(BAN_TEXT, { message: 'banPerKill must be a decimal string of BAN with at most 8 decimals, e.g. "0.05"', context: { code: 'invalid_ban_per_kill' } })
  readonly banPerKill?: string;

  @ApiPropertyOptional({ description: 'Kills payable per user per UTC day.', example: 150 })
  @IsOptional()
  // Rules are checked from the bottom up, so IsInt goes last: text is refused as not a number, not as out of bounds.
  @Max(FAUCET_CONFIG_BOUNDS.killCapMax, { message: `dailyKillCap must be at most ${FAUCET_CONFIG_BOUNDS.killCapMax}`, context: { code: 'invalid_daily_kill_cap' } })
  @Min(0, { message: 'dailyKillCap must not be negative', context: { code: 'invalid_daily_kill_cap' } })
  @IsInt({ message: 'dailyKillCap must be a whole number', context: { code: 'invalid_daily_kill_cap' } })
  readonly dailyKillCap?: number;

  @ApiPropertyOptional({ description: 'Kills payable per user per ISO week (from Monday 00:00 UTC).', example: 750 })
  @IsOptional()
  @Max(FAUCET_CONFIG_BOUNDS.killCapMax, { message: `weeklyKillCap must be at most ${FAUCET_CONFIG_BOUNDS.killCapMax}`, context: { code: 'invalid_weekly_kill_cap' } })
  @Min(0, { message: 'weeklyKillCap must not be negative', context: { code: 'invalid_weekly_kill_cap' } })
  @IsInt({ message: 'weeklyKillCap must be a whole number', context: { code: 'invalid_weekly_kill_cap' } })
  readonly weeklyKillCap?: number;

  @ApiPropertyOptional({ description: `The operator balance a settlement never spends, in BAN, as a decimal string: at most ${FAUCET_CONFIG_BOUNDS.minOperatorBalanceRawMax / RAW_PER_BAN}, with at most 8 decimals.`, example: '50' })
  @IsOptional()
  @IsString({ message: 'minOperatorBalanceBan must be a decimal string of BAN, e.g. "50"', context: { code: 'invalid_min_operator_balance_ban' } })
  @MaxLength(BAN_TEXT_LENGTH_MAX, { message: 'minOperatorBalanceBan is too long', context: { code: 'invalid_min_operator_balance_ban' } })
  @Matches(BAN_TEXT, {
    message: 'minOperatorBalanceBan must be a decimal string of BAN with at most 8 decimals, e.g. "50"',
    context: { code: 'invalid_min_operator_balance_ban' },
  })
  readonly minOperatorBalanceBan?: string;
}
