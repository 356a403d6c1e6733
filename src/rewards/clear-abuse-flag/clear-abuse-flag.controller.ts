import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { IsUUID, MaxLength } from 'class-validator';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { ReasonDto } from '../../platform/http/reason.dto';
import { RequiresScope } from '../../security/access';
import { ClearAbuseFlagCommand, type ClearAbuseFlagResult } from './clear-abuse-flag.command';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess, EXAMPLE } from '../../platform/http/openapi';
import { ClearAbuseFlagResponse } from '../rewards.responses';

export class FlagIdParams {
  @ApiProperty({ description: 'The abuse flag (`openFlags[].flagId` of the user).', example: EXAMPLE.flagId })
  @IsUUID('all', { message: 'flagId must be a UUID', context: { code: 'invalid_flag_id' } })
  @MaxLength(36, { message: 'flagId must be a UUID', context: { code: 'invalid_flag_id' } })
  readonly flagId!: string;
}

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/abuse-flags/:flagId/clear')
export class ClearAbuseFlagController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Closes an open abuse flag, with the admin's reason; a user whose last open `high` flag is
   * cleared is settled again. 200 `{flagId, userId, status: 'cleared', position}`.
   */
  @ApiOperation({
    summary: 'Clear an abuse flag',
    description:
      'Appends AbuseFlagCleared with the admin\'s reason; a flag cleared before appends nothing. A user whose open `high` flag is cleared is settled again.',
  })
  @ApiSuccess(200, 'The flag is cleared (now, or before)', ClearAbuseFlagResponse)
  @ApiProblems(404, ['abuse_flag_not_found'])
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(503, ['read_model_behind', 'event_store_unavailable'])
  @Post()
  @HttpCode(200)
  clear(@Param() params: FlagIdParams, @Body() body: ReasonDto, @AdminCommandContext() metadata: CommandMetadata): Promise<ClearAbuseFlagResult> {
    return this.commandBus.execute(new ClearAbuseFlagCommand(params.flagId.toLowerCase(), body.reason, metadata));
  }
}
