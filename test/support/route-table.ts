import { randomUUID } from 'node:crypto';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { controllersOf, declaredRoutes, type Metatype } from '../../src/platform/http/declared-routes';
import { type Access, ACCESS_METADATA } from '../../src/security/access';
import { type TestApp } from './test-app';

export { type Metatype } from '../../src/platform/http/declared-routes';

/** One `@Param()`, `@Query()` or `@Body()` of a handler: the type it is validated as, and the name it picks, if any. */
export interface RouteInput {
  readonly metatype: Metatype | null;
  /** `@Param('userId')` picks one value; `@Param()` takes them all, as a DTO. */
  readonly data: string | null;
  /** The pipes given to the decorator itself, e.g. `@Query(NoQueryParametersPipe)`. */
  readonly pipes: readonly unknown[];
}

export interface Route {
  readonly method: string;
  readonly path: string;
  /** What the route declares; null when it declares nothing (and the guard closes it as admin). */
  readonly access: Access | null;
  readonly controller: Metatype;
  readonly handler: string;
  /** What the handler reads from the request, from its parameter decorators. */
  readonly params: readonly RouteInput[];
  readonly query: readonly RouteInput[];
  readonly body: readonly RouteInput[];
}

/** The route table, read from the application's own controllers and their decorators. */
export function routeTable(app: TestApp): Route[] {
  return routesOf(controllersOf(app.app));
}

/** The routes `controllers` declare, sorted by path then method. */
export function routesOf(controllers: readonly Metatype[]): Route[] {
  return declaredRoutes(controllers)
    .map(({ method, path, controller, handler }) => {
      const inputs = inputsOf(controller, handler);
      const handlerFunction = (controller.prototype as Record<string, object>)[handler];
      const access = (Reflect.getMetadata(ACCESS_METADATA, handlerFunction) ?? Reflect.getMetadata(ACCESS_METADATA, controller) ?? null) as Access | null;
      return {
        method,
        path,
        access,
        controller,
        handler,
        params: inputs(RouteParamtypes.PARAM),
        query: inputs(RouteParamtypes.QUERY),
        body: inputs(RouteParamtypes.BODY),
      };
    })
    .sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** The handler's parameters of one kind, with the types TypeScript declared for them. */
function inputsOf(controller: Metatype, handler: string): (kind: RouteParamtypes) => RouteInput[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<string, { index: number; data?: unknown; pipes?: unknown[] }>;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, handler) ?? []) as Array<Metatype | undefined>;
  return (kind) =>
    Object.entries(args)
      .filter(([key]) => key.split(':')[0] === String(kind))
      .map(([, arg]) => ({ metatype: types[arg.index] ?? null, data: typeof arg.data === 'string' ? arg.data : null, pipes: arg.pipes ?? [] }));
}

/** The `:name` parameters of a route path, in order. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]);
}

/** A concrete path: every `:param` becomes a fresh UUID, which no record has. */
export const concrete = (path: string): string => path.replace(/:[A-Za-z]+/g, () => randomUUID());
