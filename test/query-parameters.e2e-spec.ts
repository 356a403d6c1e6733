import { sql } from 'slonik';
import { z } from 'zod';
import { DashboardController } from '../src/dashboard/dashboard.controller';
import { ApiKeys } from '../src/security/api-keys';
import { concrete, type Route, routeTable } from './support/route-table';
import { call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

/**
 * README "HTTP API": a query parameter a route does not take is 422 `unknown_property`, also on the
 * routes that take none. Checked on every route of the route table that declares no `@Query()`,
 * with a key of every scope, so a route added later cannot drop a parameter without a word.
 */
describe('a query parameter a route does not take', () => {
  let app: TestApp;
  let routes: Route[];

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    routes = routeTable(app).filter((route) => route.query.length === 0 && route.controller !== DashboardController);
  });

  afterAll(async () => {
    await app.close();
  });

  const eventCount = async (): Promise<number> => Number(await app.pool.oneFirst(sql.type(z.object({ count: z.string() }))`SELECT count(*)::text AS count FROM events`));

  it('is refused 422 unknown_property on every route that takes none, and appends nothing', async () => {
    expect(routes.map((route) => `${route.method} ${route.path}`)).toEqual(expect.arrayContaining(['POST /v1/admin/settlements', 'POST /v1/users', 'GET /health', 'GET /ready']));
    const before = await eventCount();
    const wrong: string[] = [];
    for (const route of routes) {
      const answer = await call(app, route.method, `${concrete(route.path)}?stray=1`, route.method === 'GET' ? undefined : {});
      if (answer.status !== 422 || answer.body.code !== 'unknown_property') wrong.push(`${route.method} ${route.path}: ${answer.status} ${String(answer.body.code)}`);
    }
    expect(wrong).toEqual([]);
    expect(await eventCount()).toBe(before);
  });

  it('is the guard\'s to answer first on a route that needs a key: 401 without a live key, 403 without the scope', async () => {
    const guarded = routes.filter((route) => route.access?.kind !== 'public');
    expect(guarded.length).toBeGreaterThan(10);
    const keys = new ApiKeys(app.pool);
    const readOnly = (await keys.create({ name: 'stray-reader', scopes: ['queries:read'] })).key;
    const writeOnly = (await keys.create({ name: 'stray-writer', scopes: ['commands:write'] })).key;
    const before = await eventCount();
    const wrong: string[] = [];
    for (const route of guarded) {
      const scope = route.access?.kind === 'scope' ? route.access.scope : 'admin';
      const otherScope = scope === 'queries:read' ? writeOnly : readOnly;
      const asked = async (authorization: string): Promise<string> => {
        const answer = await call(app, route.method, `${concrete(route.path)}?stray=1`, route.method === 'GET' ? undefined : {}, { authorization });
        return `${answer.status} ${String(answer.body.code)}`;
      };
      const answers = [await asked(''), await asked('Bearer p2s_not-a-key'), await asked(`Bearer ${otherScope}`)];
      const expected = ['401 api_key_required', '401 api_key_invalid', '403 insufficient_scope'];
      if (answers.join() !== expected.join()) wrong.push(`${route.method} ${route.path}: ${answers.join(', ')}`);
    }
    expect(wrong).toEqual([]);
    expect(await eventCount()).toBe(before);
  });

  it('refuses POST /v1/admin/settlements?preview=true instead of running a real settlement', async () => {
    await earner(app, 10);
    await synced(app);
    const before = await eventCount();

    const answer = await call(app, 'POST', '/v1/admin/settlements?preview=true', {});

    expect(answer).toMatchObject({ status: 422, body: { code: 'unknown_property' } });
    expect(await eventCount()).toBe(before);
    // As the README says, a preview is asked in the body.
    expect((await call(app, 'POST', '/v1/admin/settlements', { preview: true })).body).toMatchObject({ preview: true, payoutsRequested: 1 });
    expect(await eventCount()).toBe(before);
  });

  it('echoes no API key in a problem: a key sent in the query string, in a path or as a property name', async () => {
    const key = app.apiKey;
    const answers = [
      await call(app, 'GET', `/v1/nothing-here?api_key=${key}`),
      await call(app, 'GET', `/v1/users?token=${key}`),
      await call(app, 'GET', `/v1/admin/${key}`),
      await call(app, 'POST', '/v1/users', { discordUserId: '123456789012345678', [key]: true }),
    ];

    expect(answers.map((answer) => [answer.status, answer.body.code])).toEqual([
      [404, 'route_not_found'],
      // /v1/users takes POST, not GET.
      [405, 'method_not_allowed'],
      [404, 'route_not_found'],
      [422, 'unknown_property'],
    ]);
    for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(key.slice(4, 24));
    // A 404 echoes neither the path nor the query string (test/http-surface.e2e-spec.ts).
    expect(answers[0].body.detail).toBe('No route matches the path');
  });

  it('leaves the dashboard page and its files alone: their ?v= is a cache key', async () => {
    for (const path of ['/?utm_source=discord', '/dashboard/dashboard.css?v=1', '/dashboard/dashboard.js?v=2', '/dashboard/favicon.svg?v=3']) {
      expect({ path, status: (await fetch(`${app.baseUrl}${path}`)).status }).toEqual({ path, status: 200 });
    }
  });
});
