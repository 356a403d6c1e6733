import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { type DonationsView } from './donations.view';
import { GetDonationsQuery } from './get-donations.query';
import { Public } from '../../security/access';

/** Public: total donated, the milestone ladder, the rate in force and the top donors. */
@Public()
@Controller('v1/donations')
export class GetDonationsController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get()
  get(): Promise<DonationsView> {
    return this.queryBus.execute(new GetDonationsQuery());
  }
}
