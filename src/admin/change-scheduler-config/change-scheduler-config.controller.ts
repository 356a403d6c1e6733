import { Body, Controller, HttpCode, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { RequestValidationError } from '../../platform/errors/problem';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { RequiresScope } from '../../security/access';
import { type SchedulerSettings } from '../faucet-config/faucet-config.events';
import { ChangeSchedulerConfigCommand, type ChangeSchedulerConfigResult } from './change-scheduler-config.command';
import { ChangeSchedulerConfigDto } from './change-scheduler-config.dto';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { ChangeSchedulerConfigResponse } from '../admin.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/config/scheduler')
export class ChangeSchedulerConfigController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Changes the settlement interval or batch size; the schedulers pick it up within their check period. */
  @ApiOperation({
    summary: 'Change the settlement interval or batch size',
    description:
      'Appends SchedulerConfigChanged with only the fields an admin had not set to these values yet (a value the environment gives is recorded too, so every process keeps it); the schedulers pick it up within 30 s. A body that asks for what an admin set already answers `changed: []` and appends nothing.',
  })
  @ApiSuccess(200, 'The schedule in force', ChangeSchedulerConfigResponse)
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(422, ['empty_config_change'])
  @ApiProblems(503, ['event_store_unavailable'])
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
