import { Body, Controller, HttpCode, Param, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { LinkEpicAccountCommand, type LinkEpicAccountResult } from './link-epic-account.command';
import { LinkEpicAccountDto } from './link-epic-account.dto';
import { RequiresScope } from '../../security/access';

@RequiresScope('commands:write')
@Controller('v1/users/:userId/epic-account')
export class LinkEpicAccountController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Links directly, as a trusted integration; the baseline is lifetimeKills or the stats API's. */
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
