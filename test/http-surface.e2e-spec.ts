import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { sql } from 'slonik';
import { z } from 'zod';
import { ApiKeys } from '../src/security/api-keys';
import { concrete, type Route, routeTable } from './support/route-table';
import { startTestApp, type TestApp } from './support/test-app';

/** One answer with its headers, as a client sees it. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

async function send(app: TestApp, method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer; key?: boolean } = {}): Promise<Answer> {
  const headers = { ...(init.key === false ? {} : { authorization: `Bearer ${app.apiKey}` }), ...init.headers };
  const response = await fetch(`${app.baseUrl}${path}`, { method, headers, body: init.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

const eventCount = async (app: TestApp): Promise<number> =>
  Number(await app.pool.oneFirst(sql.type(z.object({ count: z.string() }))`SELECT count(*)::text AS count FROM events`));

const allowed = (answer: Answer): string[] => (answer.headers.get('allow') ?? '').split(',').map((method) => method.trim()).filter((method) => method !== '').sort();

/** A Discord snowflake no other test uses. */
const snowflake = (): string => `4${String(Date.now()).padStart(13, '0')}${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;

describe('the HTTP surface', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
  });

  afterAll(async () => {
    await app.close();
  });

  describe('a method a path does not take', () => {
    it('is 405 method_not_allowed with Allow, as problem+json, on DELETE /v1/users/:id and PUT /v1/admin/settlements', async () => {
      const before = await eventCount(app);
      const deleteUser = await send(app, 'DELETE', `/v1/users/${randomUUID()}`);
      const putSettlements = await send(app, 'PUT', '/v1/admin/settlements', { headers: { 'content-type': 'application/json' }, body: '{}' });

      expect([deleteUser.status, deleteUser.body.code]).toEqual([405, 'method_not_allowed']);
      expect(deleteUser.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(allowed(deleteUser)).toEqual(['GET', 'HEAD', 'OPTIONS']);
      expect([putSettlements.status, putSettlements.body.code]).toEqual([405, 'method_not_allowed']);
      expect(allowed(putSettlements)).toEqual(['OPTIONS', 'POST']);
      expect(await eventCount(app)).toBe(before);
    });

    it('is 405 on every path of the route table, for every method it does not take, with its methods in Allow', async () => {
      const byPath = new Map<string, Set<string>>();
      for (const route of routeTable(app)) byPath.set(route.path, (byPath.get(route.path) ?? new Set()).add(route.method));
      const before = await eventCount(app);
      const wrong: string[] = [];
      for (const [path, methods] of byPath) {
        const expected = [...methods, ...(methods.has('GET') ? ['HEAD'] : []), 'OPTIONS'].sort();
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((method) => !methods.has(method))) {
          const answer = await send(app, method, concrete(path), method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' });
          const seen = `${answer.status} ${String(answer.body.code)} ${allowed(answer).join(',')}`;
          if (seen !== `405 method_not_allowed ${expected.join(',')}`) wrong.push(`${method} ${path}: ${seen}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(await eventCount(app)).toBe(before);
    });

    // The route table is published to anyone at /docs-json, so the methods a path takes are no
    // secret; a 405 tells nothing else (not whether a record exists, not what a route reads).
    it('is the same 405 without a key, and tells no more than the methods', async () => {
      const id = randomUUID();
      const anonymous = await send(app, 'DELETE', `/v1/users/${id}`, { key: false });
      const badKey = await send(app, 'DELETE', `/v1/users/${id}`, { headers: { authorization: 'Bearer p2s_not-a-key' }, key: false });

      for (const answer of [anonymous, badKey]) {
        expect([answer.status, answer.body.code]).toEqual([405, 'method_not_allowed']);
        expect(allowed(answer)).toEqual(['GET', 'HEAD', 'OPTIONS']);
        expect(Object.keys(answer.body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
        expect(answer.text).not.toContain(id);
      }
    });

    it('keeps 404 route_not_found for a path no route matches, whatever the method', async () => {
      for (const method of ['GET', 'POST', 'DELETE', 'OPTIONS']) {
        const answer = await send(app, method, '/v1/nothing-here');
        expect({ method, status: answer.status, code: answer.body.code, allow: answer.headers.get('allow') }).toEqual({ method, status: 404, code: 'route_not_found', allow: null });
      }
    });

    it('answers OPTIONS on a path that exists 204 with Allow, and no body', async () => {
      const answer = await send(app, 'OPTIONS', `/v1/users/${randomUUID()}`, { key: false });
      const settlements = await send(app, 'OPTIONS', '/v1/admin/settlements');

      expect([answer.status, answer.text, allowed(answer)]).toEqual([204, '', ['GET', 'HEAD', 'OPTIONS']]);
      expect([settlements.status, allowed(settlements)]).toEqual([204, ['OPTIONS', 'POST']]);
    });
  });

  describe('a request body with a Content-Encoding', () => {
    const json = (discordUserId: string): string => JSON.stringify({ discordUserId });

    it('is refused 415 unsupported_content_encoding unless identity, and appends nothing', async () => {
      const before = await eventCount(app);
      const cases: Array<[string, string | Buffer]> = [
        ['gzip', gzipSync(json(snowflake()))],
        // The body as it is, labelled: before, it was read as plain JSON and a user was registered.
        ['gzip', json(snowflake())],
        ['deflate', json(snowflake())],
        ['br', json(snowflake())],
        ['x-custom', json(snowflake())],
        ['identity, gzip', json(snowflake())],
        ['GZIP', json(snowflake())],
      ];
      const answers: string[] = [];
      for (const [encoding, body] of cases) {
        const answer = await send(app, 'POST', '/v1/users', { headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body });
        answers.push(`${encoding}: ${answer.status} ${String(answer.body.code)} ${answer.headers.get('content-type') ?? ''} ${answer.headers.get('accept-encoding') ?? ''}`);
      }
      expect(answers).toEqual(cases.map(([encoding]) => `${encoding}: 415 unsupported_content_encoding application/problem+json; charset=utf-8 identity`));
      expect(await eventCount(app)).toBe(before);
    });

    it('takes identity as no encoding at all', async () => {
      const answer = await send(app, 'POST', '/v1/users', { headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, body: json(snowflake()) });
      expect(answer.status).toBe(201);
    });
  });

  describe('a body on a route that takes none', () => {
    /** The routes whose handler reads no body, on a method that carries one: Fastify reads no GET body. */
    const bodyless = (): Route[] => routeTable(app).filter((route) => route.method !== 'GET' && route.body.length === 0);
    const json = { 'content-type': 'application/json' };

    it('is refused 422 on every such route: a property unknown_property naming it, a value not an object invalid_request_body; nothing is appended', async () => {
      expect(bodyless().map((route) => `${route.method} ${route.path}`)).toEqual(
        expect.arrayContaining([
          'POST /v1/users/:userId/verify',
          'POST /v1/admin/users/:userId/reverify',
          'POST /v1/admin/payouts/:payoutId/retry',
          'POST /v1/admin/donations/rebuild',
        ]),
      );
      const cases: Array<[body: string, code: string, field: string]> = [
        ['[1]', 'invalid_request_body', ''],
        ['[]', 'invalid_request_body', ''],
        ['123', 'invalid_request_body', ''],
        ['"x"', 'invalid_request_body', ''],
        ['true', 'invalid_request_body', ''],
        ['null', 'invalid_request_body', ''],
        ['{"a":1}', 'unknown_property', 'a'],
        ['{"reason":"relinked"}', 'unknown_property', 'reason'],
        ['{"force":true}', 'unknown_property', 'force'],
        ['{"force":null,"reason":"x"}', 'unknown_property', 'reason'],
        ['{"constructor":1}', 'unknown_property', 'constructor'],
      ];
      const before = await eventCount(app);
      const wrong: string[] = [];
      for (const route of bodyless()) {
        for (const [body, code, field] of cases) {
          const answer = await send(app, route.method, concrete(route.path), { headers: json, body });
          const errors = answer.body.errors as Array<{ field: string; code: string }> | undefined;
          if (answer.status !== 422 || answer.body.code !== code || errors?.[0]?.field !== field) {
            wrong.push(`${route.method} ${route.path} ${body}: ${answer.status} ${String(answer.body.code)} ${JSON.stringify(errors ?? null)}`);
          }
        }
      }
      expect(wrong).toEqual([]);
      expect(await eventCount(app)).toBe(before);
    });

    it('is taken when absent, blank or {}: the route answers as it does with no body', async () => {
      const wrong: string[] = [];
      for (const route of bodyless()) {
        const path = concrete(route.path);
        const none = await send(app, route.method, path);
        for (const [label, init] of [
          ['{}', { headers: json, body: '{}' }],
          ['{ } with spaces', { headers: json, body: ' { }\n' }],
          ['an empty body', { headers: json, body: '' }],
          ['a property set to null, which counts as not given', { headers: json, body: '{"force":null}' }],
        ] as const) {
          const answer = await send(app, route.method, path, init);
          if (answer.status !== none.status || answer.body.code !== none.body.code || answer.status === 422) {
            wrong.push(`${route.method} ${route.path} ${label}: ${answer.status} ${String(answer.body.code)}, with no body ${none.status} ${String(none.body.code)}`);
          }
        }
      }
      expect(wrong).toEqual([]);
    });

    it('is the guard\'s to answer first: 401 without a live key, 403 without the scope', async () => {
      const readOnly = (await new ApiKeys(app.pool).create({ name: 'bodyless-reader', scopes: ['queries:read'] })).key;
      const wrong: string[] = [];
      for (const route of bodyless().filter((candidate) => candidate.access?.kind !== 'public')) {
        const answers = [];
        for (const authorization of [undefined, 'Bearer p2s_not-a-key', `Bearer ${readOnly}`]) {
          const answer = await send(app, route.method, concrete(route.path), { key: false, headers: { ...json, ...(authorization === undefined ? {} : { authorization }) }, body: '{"force":true}' });
          answers.push(`${answer.status} ${String(answer.body.code)}`);
        }
        if (answers.join() !== '401 api_key_required,401 api_key_invalid,403 insufficient_scope') wrong.push(`${route.method} ${route.path}: ${answers.join(', ')}`);
      }
      expect(wrong).toEqual([]);
    });
  });

  describe('a secret sent in a path or a query string', () => {
    const seed = randomBytes(32);
    const masterKey = randomBytes(32);
    const percentEncoded = (text: string): string => [...text].map((character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
    /** Every form, and the pieces of it that must not come back. */
    const forms: Array<[label: string, value: string]> = [
      ['master key (base64)', masterKey.toString('base64')],
      ['master key (base64url)', masterKey.toString('base64url')],
      ['seed (hex)', seed.toString('hex')],
      ['seed (base64)', seed.toString('base64')],
      ['seed (base64url)', seed.toString('base64url')],
    ];
    const pieces = (value: string): string[] => [value.slice(0, 20), value.slice(-20)];

    it('never comes back in a problem, headers included, in any form', async () => {
      const requests: Array<[method: string, path: string]> = [];
      for (const [, value] of forms) {
        requests.push(
          ['GET', `/v1/${value}`],
          ['GET', `/v1/${encodeURIComponent(value)}`],
          ['GET', `/v1/admin/${percentEncoded(value)}`],
          ['GET', `/v1/x/${value.slice(0, 22)}/${value.slice(22)}`],
          ['DELETE', `/v1/users/${encodeURIComponent(value)}`],
          ['GET', `/v1/users/${encodeURIComponent(value)}`],
          ['GET', `/v1/users/${randomUUID()}/payouts?cursor=${encodeURIComponent(value)}`],
          ['GET', `/v1/feed?${encodeURIComponent(value)}=1`],
          ['GET', `/v1/nothing?token=${encodeURIComponent(value)}`],
        );
      }
      const leaks: string[] = [];
      for (const [method, path] of requests) {
        const answer = await send(app, method, path);
        expect({ path, status: answer.status < 500 && answer.status >= 400 }).toEqual({ path, status: true });
        const seen = `${[...answer.headers].map(([name, value]) => `${name}: ${value}`).join('\n')}\n${answer.text}`;
        const shown = forms.filter(([, value]) => [...pieces(value), ...pieces(percentEncoded(value))].some((piece) => seen.includes(piece)));
        if (shown.length > 0) leaks.push(`${shown.map(([label]) => label).join(', ')}: ${method} ${path} → ${answer.status} ${answer.text.slice(0, 300)}`);
      }
      expect(leaks).toEqual([]);
    });

    it('is not echoed as the path: a problem names the route it matched, or none', async () => {
      const id = randomUUID();
      const matched = await send(app, 'GET', `/v1/users/${id}/payouts?limit=0`);
      const unmatched = await send(app, 'GET', `/v1/nothing-here/${id}`);

      expect([matched.status, matched.body.instance]).toEqual([422, '/v1/users/{userId}/payouts']);
      expect([unmatched.status, unmatched.body.code, unmatched.body.instance]).toEqual([404, 'route_not_found', undefined]);
      expect(unmatched.text).not.toContain(id);
      expect(unmatched.text).not.toContain('nothing-here');
    });
  });
});
