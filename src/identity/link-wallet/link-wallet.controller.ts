import { Body, Controller, HttpCode, Param, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { LinkWalletCommand, type LinkWalletResult } from './link-wallet.command';
import { LinkWalletDto } from './link-wallet.dto';
import { RequiresScope } from '../../security/access';

@RequiresScope('commands:write')
@Controller('v1/users/:userId/wallet')
export class LinkWalletController {
  constructor(private readonly commandBus: CommandBus) {}

  /** The address becomes the user's sole primary wallet; the same address again changes nothing. */
  @Put()
  @HttpCode(200)
  link(@Param() params: UserIdParams, @Body() body: LinkWalletDto, @CommandContext() metadata: CommandMetadata): Promise<LinkWalletResult> {
    return this.commandBus.execute(new LinkWalletCommand(params.userId.toLowerCase(), body.address, metadata));
  }
}
