import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { UserIdParams } from '../../identity/get-user/get-user.dto';
import { VerifyUserCommand, type VerifyUserResult } from '../../identity/verify-user/verify-user.command';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { VerificationRecordResponse } from '../../identity/identity.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/users/:userId/reverify')
export class ReverifyUserController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * An admin asks Yunite about a user now, outside the periodic refresh (e.g. after the player
   * relinked, to pay them again without waiting). The same command as `POST /v1/users/:userId/verify`;
   * the VerificationRecorded it appends names the admin, so it is in the audit.
   */
  @ApiOperation({
    summary: 'Re-verify a player with Yunite now',
    description:
      'The same command as `POST /v1/users/{userId}/verify`, outside the periodic refresh (e.g. after the player relinked, to pay them again without waiting). ' +
      'The VerificationRecorded it appends names the admin, so it is in the audit.',
  })
  @ApiSuccess(200, 'The verification record, as appended', VerificationRecordResponse)
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(503, ['yunite_not_configured', 'yunite_unavailable', 'yunite_rate_limited', 'yunite_unauthorized', 'event_store_unavailable'])
  @Post()
  @HttpCode(200)
  reverify(@Param() params: UserIdParams, @AdminCommandContext() metadata: CommandMetadata): Promise<VerifyUserResult> {
    return this.commandBus.execute(new VerifyUserCommand(params.userId.toLowerCase(), metadata));
  }
}
