import { type INestApplication, SetMetadata } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { type FastifyRequest } from 'fastify';
import { NoQueryParametersPipe } from './no-query-parameters.pipe';

const ANY_QUERY = 'ledger:any-query';
/** RequestMethod of @nestjs/common, by its values in order. */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD', 'SEARCH'];

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
  const routes = routesTakingNoQuery(app);
  const pipe = new NoQueryParametersPipe();
  return async (request) => {
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    if (routes.has(route)) pipe.transform(request.query);
  };
}

/** `METHOD /path` of every handler that declares no `@Query()`, as Fastify names its route. */
function routesTakingNoQuery(app: INestApplication): ReadonlySet<string> {
  const routes = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (abstract new (...args: never[]) => unknown) | null;
      if (controller === null || Reflect.getMetadata(ANY_QUERY, controller) === true) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as number | undefined;
        if (method === undefined) continue;
        const parameters = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, unknown>;
        if (Object.keys(parameters).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY))) continue;
        const path = [base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')].map((part) => part.replace(/^\/|\/$/g, '')).filter((part) => part !== '');
        routes.add(`${METHODS[method]} /${path.join('/')}`);
      }
    }
  }
  return routes;
}
