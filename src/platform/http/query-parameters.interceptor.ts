import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import { type Observable } from 'rxjs';
import { NoQueryParametersPipe } from './no-query-parameters.pipe';

const ANY_QUERY = 'ledger:any-query';

/**
 * Marks a controller whose query string is not an API's to judge: the dashboard's page and files,
 * which carry `?v=` cache keys and whatever a link to the page adds.
 */
export const AcceptsAnyQuery = (): ClassDecorator & MethodDecorator => SetMetadata(ANY_QUERY, true);

/**
 * A route that takes no query parameters refuses any (422 `unknown_property`, README "HTTP API"),
 * whether or not its controller remembered to say so. A route that takes some declares them with
 * `@Query()` and a DTO, whose validation refuses the others. Without this, a parameter on a route
 * that takes none was dropped without a word: `POST /v1/admin/settlements?preview=true` ran a real
 * settlement.
 */
@Injectable()
export class QueryParametersInterceptor implements NestInterceptor {
  private readonly noQuery = new NoQueryParametersPipe();

  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http' || this.reflector.getAllAndOverride<boolean>(ANY_QUERY, [context.getHandler(), context.getClass()]) === true) {
      return next.handle();
    }
    const parameters = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), context.getHandler().name) ?? {}) as Record<string, unknown>;
    const takesQuery = Object.keys(parameters).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY));
    if (!takesQuery) this.noQuery.transform(context.switchToHttp().getRequest<{ readonly query?: unknown }>().query);
    return next.handle();
  }
}
