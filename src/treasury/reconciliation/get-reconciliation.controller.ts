import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GetReconciliationQuery } from './get-reconciliation.query';
import { type ReconciliationReport } from './reconciliation';
import { RequiresScope } from '../../security/access';

@RequiresScope('admin')
@Controller('v1/admin/reconciliation')
export class GetReconciliationController {
  constructor(private readonly queryBus: QueryBus) {}

  /** 200 with the report whether or not it found differences (`inBalance` says); 503 when it cannot check. */
  @Get()
  reconciliation(): Promise<ReconciliationReport> {
    return this.queryBus.execute(new GetReconciliationQuery());
  }
}
