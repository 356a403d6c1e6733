import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { VerifyWalletCommand, type VerifyWalletResult } from './verify-wallet.command';
import { VerifyWalletDto } from './verify-wallet.dto';
import { RequiresScope } from '../../security/access';

@RequiresScope('commands:write')
@Controller('v1/users/:userId/wallet/verify')
export class VerifyWalletController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Proof of ownership: a message naming the user, signed with the wallet's key. */
  @Post()
  @HttpCode(200)
  verify(@Param() params: UserIdParams, @Body() body: VerifyWalletDto, @CommandContext() metadata: CommandMetadata): Promise<VerifyWalletResult> {
    return this.commandBus.execute(new VerifyWalletCommand(params.userId.toLowerCase(), body.address, body.message, body.signature, metadata));
  }
}
