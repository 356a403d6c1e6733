import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { RequiresScope } from '../../security/access';
import { type OperatorSeedStatus } from '../../security/secure-config/stored-operator-seed';
import { GetOperatorSeedStatusQuery } from './get-operator-seed-status.query';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { NoQueryParametersPipe } from '../../platform/http/no-query-parameters.pipe';
import { OperatorSeedStatusResponse } from '../admin.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/operator-seed/status')
export class GetOperatorSeedStatusController {
  constructor(private readonly queryBus: QueryBus) {}

  /** `{configured, address, keyId}`: the operator account and its master key id, never the seed. */
  @ApiOperation({ summary: 'Whether an operator seed is stored, and its address', description: 'The operator account and the id of its master key; never the seed.' })
  @ApiSuccess(200, 'The operator seed\'s status', OperatorSeedStatusResponse)
  @ApiProblems(503, ['operator_seed_unreadable'])
  @Get()
  get(@Query(NoQueryParametersPipe) _query: unknown): Promise<OperatorSeedStatus> {
    return this.queryBus.execute(new GetOperatorSeedStatusQuery());
  }
}
