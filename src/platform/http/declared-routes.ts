import { type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';

/** RequestMethod of @nestjs/common, by its values in order. */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD', 'SEARCH'];

/** A class, as Nest records a controller or the declared type of a handler's parameter. */
export type Metatype = abstract new (...args: never[]) => unknown;

/** One route a controller declares, with its path as Fastify names it (`/v1/users/:userId`). */
export interface DeclaredRoute {
  readonly method: string;
  readonly path: string;
  readonly controller: Metatype;
  readonly handler: string;
}

/** The controllers of the application's modules. */
export function controllersOf(app: Pick<INestApplication, 'get'>): Metatype[] {
  const controllers: Metatype[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      if (wrapper.metatype !== null) controllers.push(wrapper.metatype as Metatype);
    }
  }
  return controllers;
}

/** The routes `controllers` declare, from their decorators. */
export function declaredRoutes(controllers: readonly Metatype[]): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as number | undefined;
      if (method === undefined) continue;
      const path = [base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')].map((part) => part.replace(/^\/|\/$/g, '')).filter((part) => part !== '');
      routes.push({ method: METHODS[method], path: `/${path.join('/')}`, controller, handler: name });
    }
  }
  return routes;
}
