import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { LOGGER, type Logger } from '../logging/logger';
import { toProblem } from './problem';

/** The one place where errors become responses: `application/problem+json` with a stable code. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    sendProblem(this.logger, request, reply, exception);
  }
}

/**
 * A problem's `instance` is the route the request matched, as the OpenAPI document writes its path
 * (`/v1/users/{userId}`), and there is none when no route matched (404, 405). The request's own
 * path is never echoed, nor logged: a secret put there by mistake (a seed, a master key, in hex,
 * base64 or percent-encoded, whole or split across segments) would come back in a form no scrubbing
 * of known shapes can be sure to catch, to the caller or to whatever proxy or log keeps the answer.
 */
export function sendProblem(logger: Logger, request: FastifyRequest, reply: FastifyReply, exception: unknown): void {
  const route = routeOf(request);
  const body = { ...toProblem(exception), ...(route === undefined ? {} : { instance: route }) };
  if (body.status >= 500) {
    logger.error({ err: exception, requestId: request.id, method: request.method, route: route ?? 'unmatched' }, 'request failed');
  }
  if (reply.sent) return;
  // Only 503s here are transient (a read model catching up, a dependency down): ask to come back.
  if (body.status === 503) void reply.header('retry-after', '1');
  // A body in a coding the service does not read: say which it does (RFC 9110 §15.5.16).
  if (body.code === 'unsupported_content_encoding') void reply.header('accept-encoding', 'identity');
  void reply.status(body.status).header('content-type', 'application/problem+json; charset=utf-8').header('x-content-type-options', 'nosniff').send(body);
}

/** The route `request` matched, as the OpenAPI document names it; undefined when none did. */
function routeOf(request: FastifyRequest): string | undefined {
  // Read defensively: a request refused before routing (an undecodable URL) may have no route context.
  let url: string | undefined;
  try {
    url = request.is404 ? undefined : request.routeOptions.url;
  } catch {
    url = undefined;
  }
  return url?.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
