import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { LimitRules, PAGE_LIMIT_MAX } from '../platform/http/paging';

/**
 * `?limit=` of a public dashboard route: the rules of every limit (LimitRules, 1 to PAGE_LIMIT_MAX);
 * only the default differs from route to route. There is no cursor: a dashboard shows the top of
 * a list.
 */
export const DashboardLimit = (defaultLimit: number): PropertyDecorator =>
  applyDecorators(ApiPropertyOptional({ description: `How many items, 1 to ${PAGE_LIMIT_MAX}; default ${defaultLimit}.`, example: defaultLimit }), LimitRules());
