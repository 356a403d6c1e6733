import { IsUUID, MaxLength } from 'class-validator';

export class UserIdParams {
  @IsUUID('all', { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  @MaxLength(36, { message: 'userId must be a UUID', context: { code: 'invalid_user_id' } })
  readonly userId!: string;
}

export { MinPositionQueryDto as GetUserQueryDto } from '../../platform/http/paging';
