import { randomBytes } from 'node:crypto';
import { sql } from 'slonik';
import { API_KEY_SCOPES, ApiKeys, type ApiKeyScope } from '../src/security/api-keys';
import { concrete, type Route, routeTable } from './support/route-table';
import { call } from './support/scenario';
import { startTestApp, type TestApp } from './support/test-app';

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
      'GET /',
      'GET /dashboard/dashboard.css',
      'GET /dashboard/dashboard.js',
      'GET /dashboard/favicon.svg',
      'GET /dashboard/operator-qr.svg',
      'GET /health',
      'GET /metrics',
      'GET /ready',
      'GET /v1/donations',
      'GET /v1/feed',
      'GET /v1/leaderboard',
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
    // The scheme is case-insensitive, and one or more spaces may follow it (RFC 9110 §11.1, §11.4).
    { name: 'an admin key after "bearer"', authorization: `bearer ${keys.admin ?? ''}`, scope: 'admin' },
    { name: 'a queries:read key after "BEARER" and two spaces', authorization: `BEARER  ${keys['queries:read'] ?? ''}`, scope: 'queries:read' },
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

  /**
   * One call of the matrix, as `call` makes it, except that only a JSON answer is read for its code:
   * a public route may answer in another format (GET /metrics is Prometheus text).
   */
  async function send(target: TestApp, method: string, path: string, authorization: string): Promise<{ status: number; contentType: string; code: unknown }> {
    const headers: Record<string, string> = authorization === '' ? {} : { authorization };
    const response = await fetch(`${target.baseUrl}${path}`, {
      method,
      headers: method === 'GET' ? headers : { 'content-type': 'application/json', ...headers },
      body: method === 'GET' ? undefined : '{}',
    });
    const contentType = response.headers.get('content-type') ?? '';
    const text = await response.text();
    const json = /json/.test(contentType) && text !== '' ? (JSON.parse(text) as { code?: unknown }) : {};
    return { status: response.status, contentType, code: json.code };
  }

  it('answers every route × case as the guard promises', async () => {
    const outcomes: string[] = [];
    const wrong: string[] = [];
    for (const route of routes) {
      for (const which of cases()) {
        const answer = await send(app, route.method, concrete(route.path), which.authorization);
        const want = expected(route, which);
        const got = { status: answer.status, code: answer.code };
        const ok = want === 'allowed' ? ![401, 403, 500].includes(got.status) : got.status === want.status && got.code === want.code;
        outcomes.push(`${route.method} ${route.path} with ${which.name}: ${got.status}`);
        if (!ok) wrong.push(`${route.method} ${route.path} with ${which.name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        if (want !== 'allowed') expect(answer.contentType).toMatch(/^application\/problem\+json/);
      }
    }
    console.log(`auth matrix: ${routes.length} routes × ${cases().length} cases = ${outcomes.length} calls, ${wrong.length} wrong`);
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
