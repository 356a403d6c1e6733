import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type AuthenticatedRequest } from '../../security/api-key.guard';
import { type CommandMetadata } from '../decider';

/** The name of the key the guard authenticated the request with. */
export function keyNameOf(request: AuthenticatedRequest): string {
  // Only a route the guard let through reaches a handler, and every command route needs a key.
  if (request.apiKey === undefined) throw new Error('a command route was reached without an authenticated API key');
  return request.apiKey.name;
}

/**
 * The metadata a command writes into its events: the request id as correlation id, and the
 * integration that called, named by its API key, as actor.
 */
export const CommandContext = createParamDecorator((_: unknown, context: ExecutionContext): CommandMetadata => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  return {
    correlationId: String(request.id),
    causationId: null,
    actor: { kind: 'integration', name: keyNameOf(request) },
  };
});
