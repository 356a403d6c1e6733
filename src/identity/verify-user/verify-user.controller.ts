import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { UserIdParams } from '../get-user/get-user.dto';
import { VerifyUserCommand, type VerifyUserResult } from './verify-user.command';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { VerificationRecordResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('commands:write')
@Controller('v1/users/:userId/verify')
export class VerifyUserController {
  constructor(private readonly commandBus: CommandBus) {}

  /** Asks Yunite which Epic account the user's Discord id is linked to; 200 with the record. */
  @ApiOperation({
    summary: 'Verify a player\'s Epic account with Yunite',
    description:
      'Asks Yunite which Epic account the user\'s Discord id is linked to and appends VerificationRecorded: `ok`, `no_epic_link`, `epic_changed` (a new baseline is read) or `error`. ' +
      'When Yunite itself cannot answer, nothing is recorded (503): an outage must not mark users unverified.',
  })
  @ApiSuccess(200, 'The verification record, as appended', VerificationRecordResponse)
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(503, ['yunite_not_configured', 'yunite_unavailable', 'yunite_rate_limited', 'yunite_unauthorized', 'event_store_unavailable'])
  @Post()
  @HttpCode(200)
  verify(@Param() params: UserIdParams, @CommandContext() metadata: CommandMetadata): Promise<VerifyUserResult> {
    return this.commandBus.execute(new VerifyUserCommand(params.userId.toLowerCase(), metadata));
  }
}
