import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type FastifyRequest } from 'fastify';
import { DomainError } from '../platform/errors/domain-error';
import { type Access, ACCESS_METADATA, DEFAULT_ACCESS } from './access';
import { type ApiKeyRecord, type ApiKeys } from './api-keys';
import { authenticateRequestNow } from './request-authentication';

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
  constructor(
    private readonly reflector: Reflector,
    @Inject(API_KEYS) private readonly keys: ApiKeys,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]) ?? DEFAULT_ACCESS;
    if (access.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // The rate limiter looked the key up when the headers came in; it is judged again now.
    const presented = await authenticateRequestNow(request, this.keys);
    if (presented.kind === 'none') {
      throw new DomainError('api_key_required', 'This route needs an API key: send Authorization: Bearer <key>', 401);
    }
    if (presented.kind === 'invalid') throw new DomainError('api_key_invalid', 'The API key is not valid: unknown, expired or revoked', 401);
    const { record } = presented;
    if (!record.scopes.includes(access.scope)) {
      throw new DomainError('insufficient_scope', `This route needs a key with the ${access.scope} scope`, 403, { requiredScope: access.scope });
    }
    request.apiKey = record;
    return true;
  }
}
