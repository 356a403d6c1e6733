import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { VerifyUserCommand, type VerifyUserResult } from './verify-user.command';
import { RequiresScope } from '../../security/access';

@RequiresScope('commands:write')
@Controller('v1/users/:userId/verify')
export class VerifyUserController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Asks Yunite which Epic account the user's Discord id is linked to; 200 with the record. */
  @Post()
  @HttpCode(200)
  verify(@Param() params: UserIdParams, @CommandContext() metadata: CommandMetadata): Promise<VerifyUserResult> {
    return this.commandBus.execute(new VerifyUserCommand(params.userId.toLowerCase(), metadata));
  }
}
