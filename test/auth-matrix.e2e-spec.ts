import { randomBytes, randomUUID } from 'node:crypto';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { sql } from 'slonik';
import { type Access, ACCESS_METADATA } from '../src/security/access';
import { API_KEY_SCOPES, ApiKeys, type ApiKeyScope } from '../src/security/api-keys';
import { call } from './support/scenario';
import { startTestApp, type TestApp } from './support/test-app';

/** RequestMethod enum values of @nestjs/common, in order. */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD', 'SEARCH'];

interface Route {
  readonly method: string;
  readonly path: string;
  /** What the route declares; null when it declares nothing (and the guard closes it as admin). */
  readonly access: Access | null;
}

/** The route table, read from the application's own controllers and their decorators. */
function routeTable(app: TestApp): Route[] {
  const routes: Route[] = [];
  for (const module of app.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (controller === null) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as number | undefined;
        if (method === undefined) continue;
        const path = [base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')].map((part) => part.replace(/^\/|\/$/g, '')).filter((part) => part !== '');
        const access = (Reflect.getMetadata(ACCESS_METADATA, handler) ?? Reflect.getMetadata(ACCESS_METADATA, controller) ?? null) as Access | null;
        routes.push({ method: METHODS[method], path: `/${path.join('/')}`, access });
      }
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** A concrete path: every `:param` becomes a fresh UUID, which no record has. */
const concrete = (path: string): string => path.replace(/:[A-Za-z]+/g, () => randomUUID());

/**
 * Every route × every way of calling it (SPEC §4.6): no key, a malformed header, a wrong key, a
 * revoked key, an expired key, and a key of each single scope. Protected routes answer 401 or 403
 * exactly as the guard promises; public ones never ask for a key.
 */
describe('the auth matrix, generated from the route table', () => {
  let app: TestApp;
  let routes: Route[];
  const keys: Partial<Record<ApiKeyScope | 'revoked' | 'expired', string>> = {};

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    routes = routeTable(app);
    const store = new ApiKeys(app.pool);
    for (const scope of API_KEY_SCOPES) keys[scope] = (await store.create({ name: `only-${scope.replace(':', '-')}`, scopes: [scope] })).key;
    keys.revoked = (await store.create({ name: 'revoked', scopes: [...API_KEY_SCOPES] })).key;
    await store.revoke('revoked');
    keys.expired = (await store.create({ name: 'expired', scopes: [...API_KEY_SCOPES], expiresAt: new Date(Date.now() + 60_000) })).key;
    await app.pool.query(sql.unsafe`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE name = 'expired'`);
  });

  afterAll(async () => {
    await app.close();
  });

  it('reads every route, and each one says who may call it; the public ones are exactly those SPEC §4.6 opens', () => {
    expect(routes.length).toBeGreaterThanOrEqual(20);
    expect(routes.filter((route) => route.access === null)).toEqual([]);
    expect(routes.filter((route) => route.access?.kind === 'public').map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /health',
      'GET /ready',
      'GET /v1/donations',
    ]);
  });

  type Case = { readonly name: string; readonly authorization: string; readonly scope?: ApiKeyScope };
  const cases = (): Case[] => [
    { name: 'no key', authorization: '' },
    { name: 'a malformed header', authorization: 'Basic dXNlcjpwYXNz' },
    { name: 'a wrong key', authorization: `Bearer p2s_${randomBytes(32).toString('base64url')}` },
    { name: 'a revoked key', authorization: `Bearer ${keys.revoked ?? ''}` },
    { name: 'an expired key', authorization: `Bearer ${keys.expired ?? ''}` },
    ...API_KEY_SCOPES.map((scope) => ({ name: `a ${scope} key`, authorization: `Bearer ${keys[scope] ?? ''}`, scope })),
  ];

  /**
   * The status and code a case must get. An allowed call only has to get past the guard: not 401 or
   * 403 (nor a 500); what the route then answers (404 for the made-up ids, 422 for the empty bodies,
   * 503 for Yunite, which is not configured here) is the route's business.
   */
  function expected(route: Route, which: Case): { status: number; code: string } | 'allowed' {
    const access = route.access ?? { kind: 'scope', scope: 'admin' };
    if (access.kind === 'public') return 'allowed';
    if (which.authorization === '') return { status: 401, code: 'api_key_required' };
    if (which.scope === undefined) return { status: 401, code: 'api_key_invalid' };
    return which.scope === access.scope ? 'allowed' : { status: 403, code: 'insufficient_scope' };
  }

  it('answers every route × case as the guard promises', async () => {
    const outcomes: string[] = [];
    const wrong: string[] = [];
    for (const route of routes) {
      for (const which of cases()) {
        const answer = await call(app, route.method, concrete(route.path), route.method === 'GET' ? undefined : {}, { authorization: which.authorization });
        const want = expected(route, which);
        const got = { status: answer.status, code: answer.body.code };
        const ok = want === 'allowed' ? ![401, 403, 500].includes(got.status) : got.status === want.status && got.code === want.code;
        outcomes.push(`${route.method} ${route.path} with ${which.name}: ${got.status}`);
        if (!ok) wrong.push(`${route.method} ${route.path} with ${which.name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        if (want !== 'allowed') expect(answer.contentType).toMatch(/^application\/problem\+json/);
      }
    }
    expect(wrong).toEqual([]);
    expect(outcomes).toHaveLength(routes.length * cases().length);
  });

  it('names the admin by the key in the events an admin route appends', async () => {
    const run = await call(app, 'POST', '/v1/admin/settlements', {}, { authorization: `Bearer ${keys.admin ?? ''}` });
    expect(run.status).toBe(200);
    const [started] = await app.store.readStream(`settlement-${String(run.body.runId)}`);
    expect(started.metadata.actor).toEqual({ kind: 'admin', name: 'only-admin' });
  });
});
