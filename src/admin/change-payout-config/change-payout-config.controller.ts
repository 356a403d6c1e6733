import { Body, Controller, HttpCode, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { RequestValidationError } from '../../platform/errors/problem';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { parseBan } from '../../platform/money';
import { RequiresScope } from '../../security/access';
import { type PayoutSettings } from '../faucet-config/faucet-config.events';
import { ChangePayoutConfigCommand, type ChangePayoutConfigResult } from './change-payout-config.command';
import { ChangePayoutConfigDto } from './change-payout-config.dto';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { ChangePayoutConfigResponse } from '../admin.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/config/payout')
export class ChangePayoutConfigController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Changes the base reward, the kill caps or the operator balance floor (SPEC §5). Fields left out
   * keep their value; a body that asks for what an admin set already appends nothing. 200 with the settings now in force.
   */
  @ApiOperation({
    summary: 'Change the base reward, the kill caps or the operator balance floor',
    description:
      'Appends PayoutConfigChanged with only the fields an admin had not set to these values yet (and their previous values; a value the environment gives is recorded too, so every process keeps it). Fields left out keep their value; a body that asks for what an admin set already answers `changed: []` and appends nothing. ' +
      'The next accrual and settlement use the new values, in every process, without a restart.',
  })
  @ApiSuccess(200, 'The payout settings in force', ChangePayoutConfigResponse)
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(422, ['empty_config_change'])
  @ApiProblems(503, ['event_store_unavailable'])
  @Put()
  @HttpCode(200)
  change(@Body() body: ChangePayoutConfigDto, @AdminCommandContext() metadata: CommandMetadata): Promise<ChangePayoutConfigResult> {
    const changes: { -readonly [K in keyof PayoutSettings]?: PayoutSettings[K] } = {};
    // The DTO's pattern admits only amounts parseBan reads, so neither is ever null here.
    if (body.banPerKill !== undefined) changes.banPerKillRaw = (parseBan(body.banPerKill) as bigint).toString();
    if (body.dailyKillCap !== undefined) changes.dailyKillCap = body.dailyKillCap;
    if (body.weeklyKillCap !== undefined) changes.weeklyKillCap = body.weeklyKillCap;
    if (body.minOperatorBalanceBan !== undefined) changes.minOperatorBalanceRaw = (parseBan(body.minOperatorBalanceBan) as bigint).toString();
    if (Object.keys(changes).length === 0) {
      throw new RequestValidationError([
        { field: '', code: 'empty_config_change', message: 'Give at least one of banPerKill, dailyKillCap, weeklyKillCap, minOperatorBalanceBan' },
      ]);
    }
    return this.commandBus.execute(new ChangePayoutConfigCommand(changes, metadata));
  }
}
