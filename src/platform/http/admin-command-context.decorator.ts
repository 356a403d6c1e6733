import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type AuthenticatedRequest } from '../../security/api-key.guard';
import { type CommandMetadata } from '../decider';
import { keyNameOf } from './command-metadata.decorator';

/**
 * The metadata an admin command writes into its events (SPEC §4.6: every admin command records
 * its actor): the request id as correlation id, the admin as actor, and the client's IP address,
 * so the audit trail can say where a command came from.
 */
export const AdminCommandContext = createParamDecorator((_: unknown, context: ExecutionContext): CommandMetadata => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  return {
    correlationId: String(request.id),
    causationId: null,
    // The guard authenticated the request: the actor is the name of its key.
    actor: { kind: 'admin', name: keyNameOf(request) },
    clientIp: request.ip,
  };
});
