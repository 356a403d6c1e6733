import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { RunSettlementCommand, type SettlementRunSummary } from './run-settlement.command';
import { RunSettlementDto } from './run-settlement.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { SettlementRunResponse } from '../payouts.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/settlements')
export class RunSettlementController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Runs a settlement now through the same lock and rules as the schedule, and returns its summary. */
  @ApiOperation({
    summary: 'Run a settlement now, or preview it',
    description:
      'Runs a settlement through the same lock and rules as the schedule (SPEC §4.3): eligible users shuffled with a recorded seed, the batch size, the daily and weekly kill caps, the operator budget. ' +
      'With `preview: true` it answers the plan and appends nothing. Without an operator seed in live mode it requests nothing and says why in `reason`.',
  })
  @ApiSuccess(200, 'The run summary', SettlementRunResponse)
  @ApiProblems(409, ['settlement_in_progress'])
  @ApiProblems(503, ['banano_node_unavailable', 'operator_seed_unreadable', 'read_model_behind', 'event_store_unavailable', 'settlement_lock_lost'])
  @Post()
  @HttpCode(200)
  run(@Body() body: RunSettlementDto, @AdminCommandContext() metadata: CommandMetadata): Promise<SettlementRunSummary> {
    return this.commandBus.execute(new RunSettlementCommand(body.preview === true, 'admin', metadata));
  }
}
