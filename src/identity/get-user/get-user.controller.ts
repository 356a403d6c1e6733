import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { DomainError } from '../../platform/errors/domain-error';
import { minPositionOf } from '../../platform/http/paging';
import { type UserAsOfView } from '../user-audit/user-status-as-of';
import { GetUserQueryDto, UserIdParams } from './get-user.dto';
import { GetUserQuery, type UserView } from './get-user.query';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccessOneOf } from '../../platform/http/openapi';
import { UserAsOfResponse, UserResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('queries:read')
@Controller('v1/users')
export class GetUserController {
  constructor(private readonly queryBus: QueryBus) {}

  /**
   * The user now, from the read models (`?minPosition=` waits for them), or as the user was at
   * `?asOf=`, folded from the event store, which is never behind: the two together make no sense
   * and are refused.
   */
  @ApiOperation({
    summary: 'A player: Epic account, wallet, verification, balances, caps and flags',
    description:
      'The user now, from the read models (`?minPosition=` waits for them): kill counters, unsettled kills and BAN, total paid, caps left today and this week, open abuse flags. ' +
      'With `?asOf=`, the user as their events add up to at that time, folded from the event store (with `asOf` and `position`); the two parameters together are refused.',
  })
  @ApiSuccessOneOf(200, 'The user now (User), or as of `?asOf=` (UserAsOf)', [UserResponse, UserAsOfResponse])
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(422, ['as_of_with_min_position', 'as_of_in_future'])
  @Get(':userId')
  async get(@Param() params: UserIdParams, @Query() query: GetUserQueryDto): Promise<UserView | UserAsOfView> {
    if (query.asOf !== undefined && query.minPosition !== undefined) {
      throw new DomainError('as_of_with_min_position', 'asOf reads the event store itself, which is never behind: leave minPosition out');
    }
    // The DTO let only an instant from 1970 to 9999 through (parseInstant).
    const asOf = query.asOf === undefined ? null : new Date(query.asOf);
    return this.queryBus.execute<GetUserQuery, UserView | UserAsOfView>(new GetUserQuery(params.userId.toLowerCase(), minPositionOf(query), asOf));
  }
}
