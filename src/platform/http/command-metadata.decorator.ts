import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { type CommandMetadata } from '../decider';

/**
 * The metadata a command writes into its events: the request id as correlation id, and the
 * caller as actor. Until API keys exist every caller is the anonymous integration.
 */
export const CommandContext = createParamDecorator((_: unknown, context: ExecutionContext): CommandMetadata => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return {
    correlationId: String(request.id),
    causationId: null,
    actor: { kind: 'integration', name: 'anonymous' },
  };
});
