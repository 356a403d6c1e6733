import { type INestApplication, SetMetadata } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { type FastifyRequest } from 'fastify';
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
export function refuseUnexpectedQueryParameters(app: INestApplication): (request: FastifyRequest) => Promise<void> {
  const routes = new Set(
    declaredRoutes(controllersOf(app).filter((controller) => Reflect.getMetadata(ANY_QUERY, controller) !== true))
      .filter(({ controller, handler }) => !takesQuery(controller, handler))
      .map(({ method, path }) => `${method} ${path}`),
  );
  const pipe = new NoQueryParametersPipe();
  return async (request) => {
    if (routes.has(`${request.method} ${request.routeOptions.url ?? ''}`)) pipe.transform(request.query);
  };
}

function takesQuery(controller: object, handler: string): boolean {
  const parameters = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<string, unknown>;
  return Object.keys(parameters).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY));
}
