import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error';

/** The methods a route may take, in the order `Allow` lists them. HEAD comes with every GET. */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods the path of `url` takes, as the router matches it (parameters, wildcards), plus
 * OPTIONS, which every such path answers; empty when no route matches the path at all.
 */
export function methodsOfPath(fastify: Pick<FastifyInstance, 'findRoute'>, url: string): string[] {
  const methods: string[] = ROUTE_METHODS.filter((method) => fastify.findRoute({ method, url }) !== null);
  return methods.length === 0 ? [] : [...methods, 'OPTIONS'];
}

/**
 * A request no route takes, on a path some route does, is 405 `method_not_allowed` with `Allow`
 * naming the methods the path takes (RFC 9110 §15.5.6), and OPTIONS on such a path is 204 with
 * `Allow` and no body (§9.3.7); the service offers no CORS, so OPTIONS says nothing else. A path
 * no route matches stays 404 `route_not_found`, whatever the method.
 *
 * Authentication: this runs after the rate limit, before any guard, and asks for no key. No route
 * was matched, so there is no access rule to apply, and the answer tells a caller without a key
 * only the methods of a path: the route table is published to anyone at /docs-json, and a key is
 * already asked for (401) on every path that needs one, which tells as much. Nothing about a
 * record (whether the id exists) nor what a route reads is told: the handler is never reached.
 */
export function methodNotAllowedHook(fastify: Pick<FastifyInstance, 'findRoute'>): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    if (!request.is404) return undefined;
    const allowed = methodsOfPath(fastify, request.url);
    if (allowed.length === 0) return undefined;
    void reply.header('allow', allowed.join(', '));
    // Returned, as Fastify asks of an async hook that answers: the request goes no further.
    if (request.method === 'OPTIONS') return reply.code(204).send();
    throw new DomainError('method_not_allowed', `This path takes ${allowed.join(', ')}; not ${request.method}`, 405);
  };
}
