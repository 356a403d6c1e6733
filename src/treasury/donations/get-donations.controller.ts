import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { type DonationsView } from './donations.view';
import { GetDonationsQuery } from './get-donations.query';
import { Public } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSuccess } from '../../platform/http/openapi';
import { NoQueryParametersPipe } from '../../platform/http/no-query-parameters.pipe';
import { DonationsResponse } from '../treasury.responses';

/** Public: total donated, the milestone ladder, the rate in force and the top donors. */
@ApiTags('donations')
@Public()
@Controller('v1/donations')
export class GetDonationsController {
  constructor(private readonly queryBus: QueryBus) {}

  @ApiOperation({
    summary: 'Donations, milestones and the per-kill rate',
    description:
      'Total donated and funded, progress towards the goal, the current and next milestone and the whole ladder, the multiplier, the sustainability factor, ' +
      'the base and effective per-kill rate (what the next accrual gets) and the 50 largest donors. From the read models only, never the chain.',
  })
  @ApiSuccess(200, 'The donations summary', DonationsResponse)
  @Get()
  get(@Query(NoQueryParametersPipe) _query: unknown): Promise<DonationsView> {
    return this.queryBus.execute(new GetDonationsQuery());
  }
}
