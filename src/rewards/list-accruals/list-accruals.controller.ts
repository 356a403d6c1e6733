import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { UserIdParams } from '../../identity/get-user/get-user.dto';
import { minPositionOf, type Page, PAGE_LIMIT_DEFAULT, PageQueryDto } from '../../platform/http/paging';
import { type AccrualView } from '../accrual.view';
import { ListAccrualsQuery } from './list-accruals.query';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPageResponse, ApiProblems } from '../../platform/http/openapi';
import { AccrualResponse } from '../rewards.responses';

@ApiTags('kills')
@RequiresScope('queries:read')
@Controller('v1/users/:userId/accruals')
export class ListAccrualsController {
  constructor(private readonly queryBus: QueryBus) {}

  @ApiOperation({ summary: 'A player\'s accruals, newest minute first' })
  @ApiPageResponse(AccrualResponse, 'A page of accruals')
  @ApiProblems(404, ['user_not_found'])
  @Get()
  list(@Param() params: UserIdParams, @Query() query: PageQueryDto): Promise<Page<AccrualView>> {
    return this.queryBus.execute(new ListAccrualsQuery(params.userId.toLowerCase(), query.limit ?? PAGE_LIMIT_DEFAULT, query.cursor, minPositionOf(query)));
  }
}
