import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { RequiresScope } from '../../security/access';
import { type OperatorSeedStatus } from '../../security/secure-config/stored-operator-seed';
import { GetOperatorSeedStatusQuery } from './get-operator-seed-status.query';

@RequiresScope('admin')
@Controller('v1/admin/operator-seed/status')
export class GetOperatorSeedStatusController {
  constructor(private readonly queryBus: QueryBus) {}

  /** `{configured, address, keyId}`: the operator account and its master key id, never the seed. */
  @Get()
  get(): Promise<OperatorSeedStatus> {
    return this.queryBus.execute(new GetOperatorSeedStatusQuery());
  }
}
