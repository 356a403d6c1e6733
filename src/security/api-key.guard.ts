import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { DomainError } from '../platform/errors/domain-error';
import { type Access, accessOf } from './access';
import { type ApiKeyRecord, type ApiKeys } from './api-keys';
import { authenticateRequestNow, type Presented } from './request-authentication';

export const API_KEYS = Symbol('API_KEYS');

/** A request a key authenticated: the key's record rides along for the actor of its events. */
export type AuthenticatedRequest = FastifyRequest & { apiKey?: ApiKeyRecord };

/**
 * Every route's gate (SPEC §4.6). A missing key is 401 `api_key_required`; a wrong, expired or
 * revoked one is 401 `api_key_invalid` (one answer for all three, so a caller learns nothing about
 * which keys exist); a live key without the route's scope is 403 `insufficient_scope`.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEYS) private readonly keys: ApiKeys) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = accessOf(context.getHandler(), context.getClass());
    if (access.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // The rate limiter looked the key up when the headers came in; it is judged again now.
    const presented = await authenticateRequestNow(request, this.keys);
    const refusal = refusalOf(access, presented);
    if (refusal !== null) throw refusal;
    if (presented.kind === 'key') request.apiKey = presented.record;
    return true;
  }
}

/** Why the guard refuses a caller who presented `presented` on a route of `access`, or null when it lets it in. */
export function refusalOf(access: Access, presented: Presented): DomainError | null {
  if (access.kind === 'public') return null;
  if (presented.kind === 'none') return new DomainError('api_key_required', 'This route needs an API key: send Authorization: Bearer <key>', 401);
  if (presented.kind === 'invalid') return new DomainError('api_key_invalid', 'The API key is not valid: unknown, expired or revoked', 401);
  if (!presented.record.scopes.includes(access.scope)) {
    return new DomainError('insufficient_scope', `This route needs a key with the ${access.scope} scope`, 403, { requiredScope: access.scope });
  }
  return null;
}
