import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { minPositionOf } from '../../platform/http/paging';
import { GetUserQueryDto, UserIdParams } from './get-user.dto';
import { GetUserQuery, type UserView } from './get-user.query';
import { RequiresScope } from '../../security/access';

@RequiresScope('queries:read')
@Controller('v1/users')
export class GetUserController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':userId')
  async get(@Param() params: UserIdParams, @Query() query: GetUserQueryDto): Promise<UserView> {
    return this.queryBus.execute<GetUserQuery, UserView>(new GetUserQuery(params.userId.toLowerCase(), minPositionOf(query)));
  }
}
