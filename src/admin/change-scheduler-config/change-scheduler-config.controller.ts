import { Body, Controller, HttpCode, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { RequestValidationError } from '../../platform/errors/problem';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { RequiresScope } from '../../security/access';
import { type SchedulerSettings } from '../faucet-config/faucet-config.events';
import { ChangeSchedulerConfigCommand, type ChangeSchedulerConfigResult } from './change-scheduler-config.command';
import { ChangeSchedulerConfigDto } from './change-scheduler-config.dto';

@RequiresScope('admin')
@Controller('v1/admin/config/scheduler')
export class ChangeSchedulerConfigController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Changes the settlement interval or batch size; the schedulers pick it up within their check period. */
  @Put()
  @HttpCode(200)
  change(@Body() body: ChangeSchedulerConfigDto, @AdminCommandContext() metadata: CommandMetadata): Promise<ChangeSchedulerConfigResult> {
    const changes: { -readonly [K in keyof SchedulerSettings]?: SchedulerSettings[K] } = {};
    if (body.settlementIntervalSeconds !== undefined) changes.settlementIntervalSeconds = body.settlementIntervalSeconds;
    if (body.settlementBatchSize !== undefined) changes.settlementBatchSize = body.settlementBatchSize;
    if (Object.keys(changes).length === 0) {
      throw new RequestValidationError([{ field: '', code: 'empty_config_change', message: 'Give settlementIntervalSeconds, settlementBatchSize or both' }]);
    }
    return this.commandBus.execute(new ChangeSchedulerConfigCommand(changes, metadata));
  }
}
