import { type INestApplication, SetMetadata } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { type FastifyRequest } from 'fastify';
import { accessOf } from '../../security/access';
import { refusalOf } from '../../security/api-key.guard';
import { type ApiKeys } from '../../security/api-keys';
import { authenticateRequest } from '../../security/request-authentication';
import { controllersOf, declaredRoutes } from './declared-routes';
import { NoBodyPipe, takesNoBody } from './no-body.pipe';
import { NoQueryParametersPipe } from './no-query-parameters.pipe';

const ANY_QUERY = 'ledger:any-query';

/**
 * Marks a controller whose query string is not an API's to judge: the dashboard's page and files,
 * which carry `?v=` cache keys and whatever a link to the page adds.
 */
export const AcceptsAnyQuery = (): ClassDecorator => SetMetadata(ANY_QUERY, true);

/**
 * What a route does not declare, it refuses (README "HTTP API"), whether or not its controller
 * remembered to say so:
 * - a route that takes no query parameters refuses any (422 `unknown_property`). A route that takes
 *   some declares them with `@Query()` and a DTO, whose validation refuses the others. Without
 *   this, `POST /v1/admin/settlements?preview=true` ran a real settlement.
 * - a route that takes no body (no `@Body()`, on a method that carries one) takes none, a blank one
 *   or `{}`; any property is 422 `unknown_property`, any JSON value but an object 422
 *   `invalid_request_body` (NoBodyPipe), as on the routes whose body a DTO validates. Without
 *   this, `{"force": true}` sent to `POST /v1/admin/payouts/:payoutId/retry` was dropped without a
 *   word and the retry appended. GET, HEAD and TRACE bodies Fastify never reads.
 *
 * The routes are read once, from the controllers' decorators, and each request is a map lookup in
 * a Fastify hook: a Nest interceptor doing the same cost every request 250 to 400 µs of CPU (P4).
 */
export function refuseUndeclaredInput(app: INestApplication, keys: ApiKeys): (request: FastifyRequest) => Promise<void> {
  const routes = new Map(
    declaredRoutes(controllersOf(app))
      .map(({ method, path, controller, handler }) => {
        const checks = {
          query: Reflect.getMetadata(ANY_QUERY, controller) !== true && !takes(RouteParamtypes.QUERY, controller, handler),
          body: takesNoBody(method, takes(RouteParamtypes.BODY, controller, handler)),
        };
        return [`${method} ${path}`, { ...checks, access: accessOf((controller.prototype as Record<string, object>)[handler], controller) }] as const;
      })
      .filter(([, route]) => route.query || route.body),
  );
  const noQuery = new NoQueryParametersPipe();
  const noBody = new NoBodyPipe();
  return async (request) => {
    const route = routes.get(`${request.method} ${request.routeOptions.url ?? ''}`);
    if (route === undefined) return;
    try {
      if (route.query) noQuery.transform(request.query);
      if (route.body) noBody.transform(request.body);
    } catch (refusal) {
      // A caller the guard will refuse (no live key, 401; not the route's scope, 403) hears that
      // first, as on the routes whose @Query() or @Body() DTO a pipe checks after the guard: what
      // a route takes is not told to whoever may not call it. The guard judges the key again.
      if (refusalOf(route.access, await authenticateRequest(request, keys)) !== null) return;
      throw refusal;
    }
  };
}

/** Whether the handler reads that part of the request (`@Query()`, `@Body()`). */
function takes(kind: RouteParamtypes, controller: object, handler: string): boolean {
  const parameters = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<string, unknown>;
  return Object.keys(parameters).some((key) => key.split(':')[0] === String(kind));
}
