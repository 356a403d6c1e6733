import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { type Page, PAGE_LIMIT_DEFAULT, PageQueryDto } from '../../platform/http/paging';
import { UserIdParams } from '../get-user/get-user.dto';
import { GetUserHistoryQuery, type HistoryItem } from './get-user-history.query';
import { RequiresScope } from '../../security/access';

@RequiresScope('queries:read')
@Controller('v1/users/:userId/history')
export class GetUserHistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get()
  history(@Param() params: UserIdParams, @Query() query: PageQueryDto): Promise<Page<HistoryItem>> {
    return this.queryBus.execute(new GetUserHistoryQuery(params.userId.toLowerCase(), query.limit ?? PAGE_LIMIT_DEFAULT, query.cursor));
  }
}
