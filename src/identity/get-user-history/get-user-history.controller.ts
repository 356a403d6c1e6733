import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { CursorPageQueryDto, type Page, PAGE_LIMIT_DEFAULT } from '../../platform/http/paging';
import { UserIdParams } from '../get-user/get-user.dto';
import { GetUserHistoryQuery, type HistoryItem } from './get-user-history.query';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPageResponse, ApiProblems } from '../../platform/http/openapi';
import { HistoryItemResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('queries:read')
@Controller('v1/users/:userId/history')
export class GetUserHistoryController {
  constructor(private readonly queryBus: QueryBus) {}

  /** Read from the event store itself, never behind: `?minPosition=` has nothing to wait for and is refused. */
  @ApiOperation({
    summary: 'A player\'s events, in order (audit trail)',
    description: 'Read from the event store itself, so it is never behind: `?minPosition=` has nothing to wait for and is refused (`unknown_property`).',
  })
  @ApiPageResponse(HistoryItemResponse, 'A page of the user\'s events, oldest first')
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(503, ['event_store_unavailable'])
  @Get()
  history(@Param() params: UserIdParams, @Query() query: CursorPageQueryDto): Promise<Page<HistoryItem>> {
    return this.queryBus.execute(new GetUserHistoryQuery(params.userId.toLowerCase(), query.limit ?? PAGE_LIMIT_DEFAULT, query.cursor));
  }
}
