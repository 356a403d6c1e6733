import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DomainError } from '../../platform/errors/domain-error';
import { minPositionOf } from '../../platform/http/paging';
import { type UserAsOfView } from '../user-audit/user-status-as-of';
import { GetUserQueryDto, UserIdParams } from './get-user.dto';
import { GetUserQuery, type UserView } from './get-user.query';
import { RequiresScope } from '../../security/access';

@RequiresScope('queries:read')
@Controller('v1/users')
export class GetUserController {
  constructor(private readonly queryBus: QueryBus) {}

  /**
   * The user now, from the read models (`?minPosition=` waits for them), or as the user was at
   * `?asOf=`, folded from the event store, which is never behind: the two together make no sense
   * and are refused.
   */
  @Get(':userId')
  async get(@Param() params: UserIdParams, @Query() query: GetUserQueryDto): Promise<UserView | UserAsOfView> {
    if (query.asOf !== undefined && query.minPosition !== undefined) {
      throw new DomainError('as_of_with_min_position', 'asOf reads the event store itself, which is never behind: leave minPosition out');
    }
    // The DTO let only a time Date holds through.
    const asOf = query.asOf === undefined ? null : new Date(query.asOf);
    return this.queryBus.execute<GetUserQuery, UserView | UserAsOfView>(new GetUserQuery(params.userId.toLowerCase(), minPositionOf(query), asOf));
  }
}
