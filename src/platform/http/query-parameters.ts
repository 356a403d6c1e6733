import { type INestApplication, SetMetadata } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { type FastifyRequest } from 'fastify';
import { accessOf } from '../../security/access';
import { refusalOf } from '../../security/api-key.guard';
import { type ApiKeys } from '../../security/api-keys';
import { authenticateRequest } from '../../security/request-authentication';
import { controllersOf, declaredRoutes } from './declared-routes';
import { NoQueryParametersPipe } from './no-query-parameters.pipe';

const ANY_QUERY = 'ledger:any-query';

/**
 * Marks a controller whose query string is not an API's to judge: the dashboard's page and files,
 * which carry `?v=` cache keys and whatever a link to the page adds.
 */
export const AcceptsAnyQuery = (): ClassDecorator => SetMetadata(ANY_QUERY, true);

/**
 * A route that takes no query parameters refuses any (422 `unknown_property`, README "HTTP API"),
 * whether or not its controller remembered to say so. A route that takes some declares them with
 * `@Query()` and a DTO, whose validation refuses the others. Without this, a parameter on a route
 * that takes none was dropped without a word: `POST /v1/admin/settlements?preview=true` ran a real
 * settlement.
 *
 * The routes are read once, from the controllers' decorators, and each request is a set lookup in
 * a Fastify hook: a Nest interceptor doing the same cost every request 250 to 400 µs of CPU (P4).
 */
export function refuseUnexpectedQueryParameters(app: INestApplication, keys: ApiKeys): (request: FastifyRequest) => Promise<void> {
  const routes = new Map(
    declaredRoutes(controllersOf(app).filter((controller) => Reflect.getMetadata(ANY_QUERY, controller) !== true))
      .filter(({ controller, handler }) => !takesQuery(controller, handler))
      .map(({ method, path, controller, handler }) => [`${method} ${path}`, accessOf((controller.prototype as Record<string, object>)[handler], controller)] as const),
  );
  const pipe = new NoQueryParametersPipe();
  return async (request) => {
    const access = routes.get(`${request.method} ${request.routeOptions.url ?? ''}`);
    if (access === undefined) return;
    try {
      pipe.transform(request.query);
    } catch (refusal) {
      // A caller the guard will refuse (no live key, 401; not the route's scope, 403) hears that
      // first, as on the routes whose @Query() DTO a pipe checks after the guard: what a route
      // takes is not told to whoever may not call it. The guard judges the key again.
      if (refusalOf(access, await authenticateRequest(request, keys)) !== null) return;
      throw refusal;
    }
  };
}

function takesQuery(controller: object, handler: string): boolean {
  const parameters = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<string, unknown>;
  return Object.keys(parameters).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY));
}
