import { SetMetadata } from '@nestjs/common';
import { type ApiKeyScope } from './api-keys';

/** Who may call a route: anyone, or a key with one scope. */
export type Access = { readonly kind: 'public' } | { readonly kind: 'scope'; readonly scope: ApiKeyScope };

export const ACCESS_METADATA = 'ledger:access';

/** Open to anyone, without a key (SPEC §4.6: health, ready, metrics, leaderboard, feed, donations). */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(ACCESS_METADATA, { kind: 'public' } satisfies Access);

/** Needs a live key with `scope`. A route with neither decorator needs `admin`: closed by default. */
export const RequiresScope = (scope: ApiKeyScope): ClassDecorator & MethodDecorator =>
  SetMetadata(ACCESS_METADATA, { kind: 'scope', scope } satisfies Access);

/** When a route says nothing, it is an admin route, so a forgotten decorator never opens one. */
export const DEFAULT_ACCESS: Access = { kind: 'scope', scope: 'admin' };

/**
 * The access a route declares: its handler's decorator, else its controller's, else admin. The
 * guard, the query-parameter check and the OpenAPI document all read it here, so they agree.
 */
export function accessOf(handler: object, controller: object): Access {
  return (Reflect.getMetadata(ACCESS_METADATA, handler) ?? Reflect.getMetadata(ACCESS_METADATA, controller) ?? DEFAULT_ACCESS) as Access;
}
