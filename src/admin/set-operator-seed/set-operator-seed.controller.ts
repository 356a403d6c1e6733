import { Body, Controller, HttpCode, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type CommandMetadata } from '../../platform/decider';
import { AdminCommandContext } from '../../platform/http/admin-command-context.decorator';
import { RequiresScope } from '../../security/access';
import { SetOperatorSeedCommand } from './set-operator-seed.command';
import { SetOperatorSeedDto } from './set-operator-seed.dto';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../platform/http/openapi';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/operator-seed')
export class SetOperatorSeedController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * Stores the operator seed, encrypted (SPEC §4.6). 204, and GET …/status shows the derived
   * address; 422 `invalid_seed`; 409 `master_key_retired` on an instance whose master key a
   * rotation retired; 503 `master_key_not_configured` where no master key is set.
   */
  @ApiOperation({
    summary: 'Store the operator seed, encrypted',
    description:
      'Stores the operator wallet\'s seed in `secure_config`, encrypted with AES-256-GCM under the master key, and appends SecureConfigChanged (never the value). ' +
      'Payouts use it from their next step; storing the same seed again appends nothing. The seed is never logged, returned or echoed in an error.',
  })
  @ApiResponse({ status: 204, description: 'Stored; `GET /v1/admin/operator-seed/status` shows the derived address' })
  @ApiProblems(409, ['master_key_retired'])
  @ApiProblems(503, ['master_key_not_configured', 'event_store_unavailable'])
  @Put()
  @HttpCode(204)
  async set(@Body() body: SetOperatorSeedDto, @AdminCommandContext() metadata: CommandMetadata): Promise<void> {
    await this.commandBus.execute(new SetOperatorSeedCommand(body.seed, metadata));
  }
}
