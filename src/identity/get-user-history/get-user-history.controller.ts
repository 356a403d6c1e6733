import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { CursorPageQueryDto, type Page, PAGE_LIMIT_DEFAULT } from '../../platform/http/paging';
import { UserIdParams } from '../get-user/get-user.dto';
import { GetUserHistoryQuery, type HistoryItem } from './get-user-history.query';
import { RequiresScope } from '../../security/access';

@RequiresScope('queries:read')
@Controller('v1/users/:userId/history')
export class GetUserHistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  /** Read from the event store itself, never behind: `?minPosition=` has nothing to wait for and is refused. */
  @Get()
  history(@Param() params: UserIdParams, @Query() query: CursorPageQueryDto): Promise<Page<HistoryItem>> {
    return this.queryBus.execute(new GetUserHistoryQuery(params.userId.toLowerCase(), query.limit ?? PAGE_LIMIT_DEFAULT, query.cursor));
  }
}
