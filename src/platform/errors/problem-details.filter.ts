import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { LOGGER, type Logger } from '../logging/logger';
import { toProblem, withoutSecretShapes } from './problem';

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

export function sendProblem(logger: Logger, request: FastifyRequest, reply: FastifyReply, exception: unknown): void {
  const body = { ...toProblem(exception), instance: withoutSecretShapes(request.url.split('?')[0] ?? '') };
  if (body.status >= 500) {
    logger.error({ err: exception, requestId: request.id, method: request.method, url: body.instance }, 'request failed');
  }
  if (reply.sent) return;
  // Only 503s here are transient (a read model catching up, a dependency down): ask to come back.
  if (body.status === 503) void reply.header('retry-after', '1');
  void reply.status(body.status).header('content-type', 'application/problem+json; charset=utf-8').header('x-content-type-options', 'nosniff').send(body);
}
