import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { RunSettlementCommand, type SettlementRunSummary } from './run-settlement.command';
import { RunSettlementDto } from './run-settlement.dto';
import { RequiresScope } from '../../security/access';

@RequiresScope('admin')
@Controller('v1/admin/settlements')
export class RunSettlementController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Runs a settlement now through the same lock and rules as the schedule, and returns its summary. */
  @Post()
  @HttpCode(200)
  run(@Body() body: RunSettlementDto, @AdminCommandContext() metadata: CommandMetadata): Promise<SettlementRunSummary> {
    return this.commandBus.execute(new RunSettlementCommand(body.preview === true, 'admin', metadata));
  }
}
