import { Body, Controller, HttpCode, Param, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { LinkEpicAccountCommand, type LinkEpicAccountResult } from './link-epic-account.command';
import { LinkEpicAccountDto } from './link-epic-account.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { LinkEpicAccountResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('commands:write')
@Controller('v1/users/:userId/epic-account')
export class LinkEpicAccountController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Links directly, as a trusted integration; the baseline is lifetimeKills or the stats API's. */
  @ApiOperation({
    summary: 'Link an Epic account directly (trusted integration)',
    description:
      'Appends EpicAccountLinked with the baseline (`lifetimeKills`, or else the Fortnite stats API\'s count: never assumed 0) and VerificationRecorded (source `integration`, status `ok`). ' +
      'Linking the same account again appends nothing. An Epic account belongs to one user at most.',
  })
  @ApiSuccess(200, 'Linked, or already linked to this account', LinkEpicAccountResponse)
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(409, ['epic_account_already_linked', 'concurrency_conflict'])
  @ApiProblems(422, ['lifetime_kills_required', 'epic_account_not_found', 'stats_private'])
  @ApiProblems(503, ['stats_unavailable', 'stats_rate_limited', 'event_store_unavailable'])
  @Put()
  @HttpCode(200)
  link(@Param() params: UserIdParams, @Body() body: LinkEpicAccountDto, @CommandContext() metadata: CommandMetadata): Promise<LinkEpicAccountResult> {
    return this.commandBus.execute(
      new LinkEpicAccountCommand(
        params.userId.toLowerCase(),
        body.epicAccountId,
        body.lifetimeKills === undefined ? null : BigInt(body.lifetimeKills),
        metadata,
      ),
    );
  }
}
