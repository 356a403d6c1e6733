import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { PAGE_LIMIT_MAX } from '../platform/http/paging';

const LIMIT_CODE = { context: { code: 'invalid_limit' } } as const;

/**
 * `?limit=` of a public dashboard route: optional, 1 to PAGE_LIMIT_MAX (100), with the same rules,
 * messages and code (`invalid_limit`) as the paged queries (src/platform/http/paging.ts); only the
 * default differs from route to route. There is no cursor: a dashboard shows the top of a list.
 */
export const DashboardLimit = (defaultLimit: number): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({ description: `How many items, 1 to ${PAGE_LIMIT_MAX}; default ${defaultLimit}.`, example: defaultLimit }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: 'limit must be an integer', ...LIMIT_CODE }),
    Min(1, { message: 'limit must be at least 1', ...LIMIT_CODE }),
    Max(PAGE_LIMIT_MAX, { message: `limit must be at most ${PAGE_LIMIT_MAX}`, ...LIMIT_CODE }),
  );
