import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { VerifyWalletCommand, type VerifyWalletResult } from './verify-wallet.command';
import { VerifyWalletDto } from './verify-wallet.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { VerifyWalletResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('commands:write')
@Controller('v1/users/:userId/wallet/verify')
export class VerifyWalletController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Proof of ownership: a message naming the user, signed with the wallet's key. */
  @ApiOperation({
    summary: 'Prove ownership of the wallet',
    description:
      'Checks a message naming the user id, signed with the linked primary wallet\'s key (bananojs `verifyMessage`), and appends WalletVerified. ' +
      'A verified wallet is required for payouts when `payout.requireVerifiedWallet` is on.',
  })
  @ApiSuccess(200, 'The wallet is verified', VerifyWalletResponse)
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(422, ['wallet_not_linked', 'invalid_wallet_message', 'invalid_wallet_signature'])
  @ApiProblems(503, ['event_store_unavailable'])
  @Post()
  @HttpCode(200)
  verify(@Param() params: UserIdParams, @Body() body: VerifyWalletDto, @CommandContext() metadata: CommandMetadata): Promise<VerifyWalletResult> {
    return this.commandBus.execute(new VerifyWalletCommand(params.userId.toLowerCase(), body.address, body.message, body.signature, metadata));
  }
}
