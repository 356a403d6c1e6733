import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { GetReconciliationQuery } from './get-reconciliation.query';
import { type ReconciliationReport } from './reconciliation';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { NoQueryParametersPipe } from '../../platform/http/no-query-parameters.pipe';
import { ReconciliationResponse } from '../treasury.responses';

@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/reconciliation')
export class GetReconciliationController {
  constructor(private readonly queryBus: QueryBus) {}

  /** 200 with the report whether or not it found differences (`inBalance` says); 503 when it cannot check. */
  @ApiOperation({
    summary: 'Reconcile the ledger\'s operator wallet with the chain',
    description:
      'Compares the operator wallet as the events count it with the node\'s balance, history and receivable blocks (in dry-run: with the simulated balance). ' +
      '200 whether or not it finds differences (`inBalance` says); each difference names the events it concerns. It appends nothing and signs nothing.',
  })
  @ApiSuccess(200, 'The reconciliation report', ReconciliationResponse)
  @ApiProblems(503, ['banano_node_unavailable', 'operator_seed_unreadable', 'operator_seed_not_configured', 'event_store_unavailable'])
  @Get()
  reconciliation(@Query(NoQueryParametersPipe) _query: unknown): Promise<ReconciliationReport> {
    return this.queryBus.execute(new GetReconciliationQuery());
  }
}
