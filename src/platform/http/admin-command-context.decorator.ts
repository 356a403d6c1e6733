import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { type CommandMetadata } from '../decider';

/**
 * The metadata an admin command writes into its events (SPEC §4.6: every admin command records
 * its actor): the request id as correlation id, the admin as actor, and the client's IP address,
 * so the audit trail can say where a command came from.
 */
export const AdminCommandContext = createParamDecorator((_: unknown, context: ExecutionContext): CommandMetadata => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return {
    correlationId: String(request.id),
    causationId: null,
    // API keys do not exist yet, so no admin can be named. When they do, the name of the key that
    // authenticated the request replaces 'unauthenticated'.
    actor: { kind: 'admin', name: 'unauthenticated' },
    clientIp: request.ip,
  };
});
