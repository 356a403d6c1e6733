import { Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { type DonationRebuildReport, RebuildDonationsCommand } from './rebuild-donations.command';
import { RequiresScope } from '../../security/access';

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
  @Post()
  @HttpCode(200)
  rebuild(@AdminCommandContext() metadata: CommandMetadata): Promise<DonationRebuildReport> {
    return this.commandBus.execute(new RebuildDonationsCommand(metadata));
  }
}
