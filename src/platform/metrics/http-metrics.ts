import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Metrics } from './metrics';

/** The route label of a request that matched no route: its raw URL would be an unbounded label. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * A Fastify `onResponse` hook that times every request by its route pattern
 * (`/v1/users/:userId`), never by its URL, so ids never become label values.
 */
export function httpMetricsHook(metrics: Metrics): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    metrics.httpResponded(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  };
}
