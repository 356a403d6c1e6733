import { Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { type DonationRebuildReport, RebuildDonationsCommand } from './rebuild-donations.command';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { DonationRebuildResponse } from '../treasury.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/donations/rebuild')
export class RebuildDonationsController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Reads the operator account's chain and appends the receives the ledger does not record yet.
   * 200 with the report `{operatorAddress, blocksScanned, receivesFound, alreadyRecorded, appended:
   * {donations, funding, milestones}, appendedSendHashes}`; 409 gateway_dry_run, block_in_flight or
   * operator_account_busy; 503 operator_seed_not_configured, operator_seed_unreadable or
   * banano_node_unavailable. Every refusal appends nothing.
   */
  @ApiOperation({
    summary: 'Record donations the ingester never saw',
    description:
      'Reads the operator account\'s whole chain (`account_history`) and appends DonationReceived or FundingReceived (and MilestoneReached) for each receive whose send hash the ledger does not record yet. ' +
      'It signs and publishes nothing, deletes nothing, and running it again appends nothing. Live mode only; every refusal appends nothing.',
  })
  @ApiSuccess(200, 'What the rebuild found and appended', DonationRebuildResponse)
  @ApiProblems(409, ['gateway_dry_run', 'block_in_flight', 'operator_account_busy', 'concurrency_conflict'])
  @ApiProblems(422, ['operator_history_too_long'])
  @ApiProblems(503, ['operator_seed_not_configured', 'operator_seed_unreadable', 'banano_node_unavailable', 'event_store_unavailable'])
  @Post()
  @HttpCode(200)
  rebuild(@AdminCommandContext() metadata: CommandMetadata): Promise<DonationRebuildReport> {
    return this.commandBus.execute(new RebuildDonationsCommand(metadata));
  }
}
