import { Body, Controller, HttpCode, Param, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { LinkWalletCommand, type LinkWalletResult } from './link-wallet.command';
import { LinkWalletDto } from './link-wallet.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { LinkWalletResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('commands:write')
@Controller('v1/users/:userId/wallet')
export class LinkWalletController {
  constructor(private readonly commandBus: CommandBus) {}

  /** The address becomes the user's sole primary wallet; the same address again changes nothing. */
  @ApiOperation({
    summary: 'Link the player\'s Banano wallet',
    description:
      'The address becomes the user\'s only primary wallet: payouts requested afterwards go there. The same address again appends nothing. ' +
      'An address that is another user\'s primary wallet too raises a `shared_wallet` flag (low).',
  })
  @ApiSuccess(200, 'The primary wallet', LinkWalletResponse)
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(503, ['event_store_unavailable'])
  @Put()
  @HttpCode(200)
  link(@Param() params: UserIdParams, @Body() body: LinkWalletDto, @CommandContext() metadata: CommandMetadata): Promise<LinkWalletResult> {
    return this.commandBus.execute(new LinkWalletCommand(params.userId.toLowerCase(), body.address, metadata));
  }
}
