import SwaggerParser from '@apidevtools/swagger-parser';
import { DECORATORS } from '@nestjs/swagger';
import { PROBLEM_DETAILS, undocumentedRules } from '../src/platform/http/openapi';
import { type Route, routeTable } from './support/route-table';
import { call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

/** SPEC §5's routes, as its two tables list them (`:param` written `{param}`, as OpenAPI does). */
const SPEC_ROUTES = [
  'POST /v1/users',
  'POST /v1/users/{userId}/verify',
  'PUT /v1/users/{userId}/epic-account',
  'PUT /v1/users/{userId}/wallet',
  'POST /v1/users/{userId}/wallet/verify',
  'POST /v1/users/{userId}/kills',
  'POST /v1/kills/batch',
  'POST /v1/admin/settlements',
  'POST /v1/admin/payouts/{payoutId}/retry',
  'POST /v1/admin/payouts/{payoutId}/cancel',
  'PUT /v1/admin/config/payout',
  'PUT /v1/admin/operator-seed',
  'POST /v1/admin/donations/rebuild',
  'POST /v1/admin/abuse-flags/{flagId}/clear',
  'GET /v1/users/{userId}',
  'GET /v1/users/{userId}/accruals',
  'GET /v1/users/{userId}/payouts',
  'GET /v1/users/{userId}/history',
  'GET /v1/payouts/{payoutId}',
  'GET /v1/leaderboard',
  'GET /v1/feed',
  'GET /v1/donations',
  'GET /v1/admin/audit',
  'GET /v1/admin/stats',
  'GET /v1/admin/operator-seed/status',
  'GET /health',
  'GET /ready',
  'GET /metrics',
];

/** SPEC §5 routes the service does not serve yet: the only ones the document may lack. */
const NOT_BUILT_YET: string[] = [];

type Json = Record<string, unknown>;
interface Operation {
  readonly key: string;
  readonly path: string;
  readonly operation: Json & { responses: Record<string, Json>; parameters?: Json[]; requestBody?: Json };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

function operationsOf(document: Json): Operation[] {
  return Object.entries(document.paths as Record<string, Record<string, Operation['operation']>>).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({ key: `${method.toUpperCase()} ${path}`, path, operation: item[method] })),
  );
}

const keyOf = (route: Route): string => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;

/** A schema with its references followed. */
function resolve(document: Json, schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return resolve(document, ((document.components as Json).schemas as Record<string, Json>)[ref.replace('#/components/schemas/', '')]);
}

/** What is missing from one request field's schema: a description, and the bound its type needs. */
function boundProblems(document: Json, where: string, raw: Json, description: unknown, seen = new Set<Json>()): string[] {
  const schema = resolve(document, raw);
  if (seen.has(schema)) return [];
  seen.add(schema);
  const problems: string[] = [];
  if (typeof description !== 'string' || description.length < 10) problems.push(`${where} has no description`);
  switch (schema.type) {
    case 'string':
      if (typeof schema.maxLength !== 'number' && schema.enum === undefined) problems.push(`${where} is a string without maxLength`);
      break;
    case 'integer':
    case 'number':
      if (typeof schema.minimum !== 'number' || typeof schema.maximum !== 'number') problems.push(`${where} is a number without minimum and maximum`);
      break;
    case 'array':
      if (typeof schema.maxItems !== 'number') problems.push(`${where} is an array without maxItems`);
      problems.push(...boundProblems(document, `${where}[]`, schema.items as Json, 'items of a described array', seen));
      break;
    case 'boolean':
      break;
    case 'object':
    case undefined:
      for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
        problems.push(...boundProblems(document, `${where}.${name}`, property, resolve(document, property).description ?? property.description, seen));
      }
      if (schema.properties === undefined) problems.push(`${where} has no declared properties`);
      break;
    default:
      problems.push(`${where} has type ${String(schema.type)}`);
  }
  return problems;
}

/**
 * Where a documented example and a real answer differ in their keys, recursively, so a renamed or
 * added field shows. Values may differ; a null on either side is not compared further.
 */
function keyDifferences(documented: unknown, actual: unknown, where = ''): string[] {
  if (documented === null || actual === null || typeof documented !== 'object' || typeof actual !== 'object') return [];
  if (Array.isArray(documented) || Array.isArray(actual)) {
    if (!Array.isArray(documented) || !Array.isArray(actual)) return [`${where} is an array on one side only`];
    return documented.length === 0 || actual.length === 0 ? [] : keyDifferences(documented[0], actual[0], `${where}[]`);
  }
  const a = documented as Json;
  const b = actual as Json;
  return [
    ...Object.keys(b).filter((key) => !(key in a)).map((key) => `${where}.${key} is answered but not documented`),
    ...Object.keys(a).filter((key) => !(key in b)).map((key) => `${where}.${key} is documented but not answered`),
    ...Object.keys(a).filter((key) => key in b).flatMap((key) => keyDifferences(a[key], b[key], `${where}.${key}`)),
  ];
}

/**
 * Issue 7: the OpenAPI document at /docs-json lists every route of SPEC §5 (and of the service),
 * generated from the DTOs that validate requests, with examples and error codes; Swagger UI at
 * /docs works from a fresh clone, its assets served by the service itself.
 */
describe('OpenAPI at /docs and /docs-json', () => {
  let app: TestApp;
  let routes: Route[];
  let document: Json;
  let documentText: string;
  let clients = 0;

  /** A public request from a client address of its own, so the per-IP limit below is not spent. */
  const anonymous = (path: string, from = `198.51.100.${++clients}`): Promise<Response> => fetch(`${app.baseUrl}${path}`, { headers: { 'x-forwarded-for': from } });

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', HTTP_TRUST_PROXY: '127.0.0.1', RATE_LIMIT_IP_PER_MINUTE: '5', RATE_LIMIT_WINDOW_SECONDS: '60' });
    // Controllers excluded from the document (the dashboard page at / and its files) serve no API.
    routes = routeTable(app).filter((route) => Reflect.getMetadata(DECORATORS.API_EXCLUDE_CONTROLLER, route.controller)?.[0] !== true);
    const response = await anonymous('/docs-json');
    documentText = await response.text();
    document = JSON.parse(documentText) as Json;
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers /docs-json without a key: a valid OpenAPI 3 document', async () => {
    const response = await anonymous('/docs-json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(document.openapi).toMatch(/^3\./);
    // The validator dereferences what it is given: it gets a copy.
    await expect(SwaggerParser.validate(JSON.parse(documentText) as never)).resolves.toBeDefined();
  });

  it('lists every route of the application, and nothing else', () => {
    expect(routes.length).toBeGreaterThanOrEqual(25);
    expect(operationsOf(document).map((entry) => entry.key).sort()).toEqual(routes.map(keyOf).sort());
  });

  it('lists every route of SPEC §5 that the service serves', () => {
    const documented = new Set(operationsOf(document).map((entry) => entry.key));
    const served = new Set(routes.map(keyOf));
    expect(SPEC_ROUTES.filter((route) => served.has(route) && !documented.has(route))).toEqual([]);
    // A SPEC route missing from the service is one still to build, never a misspelt line above.
    expect(NOT_BUILT_YET).toEqual(expect.arrayContaining(SPEC_ROUTES.filter((route) => !served.has(route))));
    expect(SPEC_ROUTES.filter((route) => served.has(route)).length).toBeGreaterThanOrEqual(SPEC_ROUTES.length - NOT_BUILT_YET.length);
  });

  it('gives every operation a summary, a tag, who may call it, a success with an example, and its problems with codes', () => {
    const problems: string[] = [];
    const byKey = new Map(routes.map((route) => [keyOf(route), route]));
    for (const { key, operation } of operationsOf(document)) {
      const route = byKey.get(key);
      if (typeof operation.summary !== 'string' || operation.summary.length < 10) problems.push(`${key} has no summary`);
      if (!Array.isArray(operation.tags) || operation.tags.length === 0) problems.push(`${key} has no tag`);
      const access = route?.access ?? { kind: 'scope', scope: 'admin' };
      if (access.kind === 'public') {
        if (JSON.stringify(operation.security) !== '[]') problems.push(`${key} is public but asks for a key`);
        if (operation.responses['401'] !== undefined) problems.push(`${key} is public but documents a 401`);
      } else {
        if (JSON.stringify(operation.security) !== JSON.stringify([{ apiKey: [] }])) problems.push(`${key} does not ask for the API key`);
        if (operation['x-required-scope'] !== access.scope) problems.push(`${key} does not name its scope ${access.scope}`);
        if (operation.responses['401'] === undefined || operation.responses['403'] === undefined) problems.push(`${key} documents no 401 and 403`);
      }
      const successes = Object.entries(operation.responses).filter(([status]) => /^2/.test(status));
      if (successes.length === 0) problems.push(`${key} documents no success`);
      for (const [status, response] of successes) {
        if (status === '204') continue;
        const media = Object.values((response.content ?? {}) as Record<string, Json>);
        if (media.length === 0 || media.some((entry) => entry.example === undefined || entry.schema === undefined)) problems.push(`${key} ${status} has no schema and example`);
      }
      const failures = Object.entries(operation.responses).filter(([status]) => /^[45]/.test(status));
      if (failures.length === 0) problems.push(`${key} documents no error`);
      for (const [status, response] of failures) {
        const content = (response.content ?? {}) as Record<string, Json>;
        if (content['application/problem+json'] === undefined) {
          // /ready's 503 is its own report, not a problem.
          if (key !== 'GET /ready' || status !== '503') problems.push(`${key} ${status} is not problem+json`);
          continue;
        }
        const codes = response['x-problem-codes'];
        const examples = (content['application/problem+json'].examples ?? {}) as Record<string, { value: Json }>;
        if (!Array.isArray(codes) || codes.length === 0) problems.push(`${key} ${status} names no code`);
        for (const code of (codes ?? []) as string[]) {
          if (!/^[a-z][a-z0-9_]*$/.test(code)) problems.push(`${key} ${status}: ${code} is not a stable code`);
          if (PROBLEM_DETAILS[code] === undefined) problems.push(`${key} ${status}: ${code} has no detail in PROBLEM_DETAILS`);
          if (examples[code]?.value.code !== code || examples[code]?.value.status !== Number(status)) problems.push(`${key} ${status}: ${code} has no example`);
        }
      }
      if (operation.responses['429'] === undefined) problems.push(`${key} does not document the rate limit`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the codes of the rules each route breaks, from its DTOs and its handler', () => {
    const codes = (key: string, status: number): unknown => operationsOf(document).find((entry) => entry.key === key)?.operation.responses[String(status)]?.['x-problem-codes'];
    expect(codes('PUT /v1/users/{userId}/wallet', 422)).toEqual(expect.arrayContaining(['invalid_banano_address', 'address_required', 'invalid_user_id', 'unknown_property']));
    expect(codes('POST /v1/users/{userId}/kills', 422)).toEqual(expect.arrayContaining(['invalid_lifetime_kills', 'observed_at_in_future', 'epic_account_not_linked']));
    expect(codes('POST /v1/kills/batch', 422)).toEqual(expect.arrayContaining(['batch_too_large', 'invalid_user_id', 'invalid_observed_at']));
    expect(codes('PUT /v1/users/{userId}/epic-account', 409)).toEqual(expect.arrayContaining(['epic_account_already_linked']));
    expect(codes('GET /v1/users/{userId}/accruals', 503)).toEqual(['read_model_behind']);
    expect(codes('PUT /v1/admin/operator-seed', 422)).toEqual(expect.arrayContaining(['invalid_seed']));
    expect(codes('POST /v1/admin/payouts/{payoutId}/cancel', 409)).toEqual(expect.arrayContaining(['payout_not_failed']));
  });

  it('says of each route that takes no body how one is refused: 400, 413, 415, and 422 unknown_property or invalid_request_body', () => {
    const bodyless = routes.filter((route) => route.method !== 'GET' && route.body.length === 0).map(keyOf);
    expect(bodyless).toEqual(expect.arrayContaining(['POST /v1/users/{userId}/verify', 'POST /v1/admin/payouts/{payoutId}/retry', 'POST /v1/admin/donations/rebuild']));
    const described = operationsOf(document)
      .filter(({ key }) => bodyless.includes(key))
      .map(({ key, operation }) => ({
        key,
        requestBody: operation.requestBody ?? null,
        says: /takes no body/i.test(String(operation.description)),
        codes: [400, 413, 415, 422].map((status) => (operation.responses[String(status)]?.['x-problem-codes'] ?? []) as string[]),
      }));
    expect(described).toHaveLength(bodyless.length);
    for (const entry of described) {
      expect(entry).toEqual({
        key: entry.key,
        requestBody: null,
        says: true,
        codes: [
          expect.arrayContaining(['malformed_json', 'json_too_deep']),
          ['payload_too_large'],
          expect.arrayContaining(['unsupported_media_type']),
          expect.arrayContaining(['invalid_request_body', 'unknown_property']),
        ],
      });
    }
  });

  it('states every bound of every request field and parameter, read from the class-validator rules', () => {
    const problems: string[] = [];
    for (const { key, operation } of operationsOf(document)) {
      for (const parameter of operation.parameters ?? []) {
        problems.push(...boundProblems(document, `${key} ${String(parameter.in)} ${String(parameter.name)}`, parameter.schema as Json, parameter.description ?? (parameter.schema as Json).description));
      }
      const body = ((operation.requestBody?.content ?? {}) as Record<string, Json>)['application/json'];
      if (body !== undefined) problems.push(...boundProblems(document, `${key} body`, body.schema as Json, 'the request body as a whole'));
    }
    expect(problems).toEqual([]);
    // Every rule a DTO declares is one the document can express.
    const dtos = new Set(routes.flatMap((route) => [...route.params, ...route.query, ...route.body]).flatMap((input) => (input.metatype === null ? [] : [input.metatype])));
    expect([...dtos].flatMap((dto) => undocumentedRules(dto))).toEqual([]);
    // Spot checks that the bounds are the validators' own.
    const schemas = (document.components as Json).schemas as Record<string, Json & { properties: Record<string, Json> }>;
    expect(schemas.RecordKillsBatchDto.properties.observations).toMatchObject({ type: 'array', minItems: 1, maxItems: 1000 });
    expect(schemas.RegisterUserDto.properties.discordUserId).toMatchObject({ type: 'string', maxLength: 20, pattern: '^[1-9][0-9]{16,19}$' });
    expect(schemas.RegisterUserDto.required).toEqual(['discordUserId']);
    expect(schemas.LinkWalletDto.properties.address).toMatchObject({ type: 'string', maxLength: 64, minLength: 64, pattern: expect.stringMatching(/^\^ban_/) });
    expect(schemas.ChangePayoutConfigDto.properties.dailyKillCap).toMatchObject({ type: 'integer', minimum: 0, maximum: 1_000_000 });
    const limit = operationsOf(document)
      .find((entry) => entry.key === 'GET /v1/users/{userId}/accruals')
      ?.operation.parameters?.find((parameter) => parameter.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } });
  });

  it('shows the SPEC §5 shapes as the service answers them', async () => {
    const player = await earner(app, 12);
    await synced(app);
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    await synced(app);
    const example = (key: string, status = '200'): unknown =>
      Object.values((operationsOf(document).find((entry) => entry.key === key)?.operation.responses[status]?.content ?? {}) as Record<string, Json>)[0]?.example;
    const answers: Array<[string, string, unknown]> = [
      ['GET /v1/users/{userId}', '200', (await call(app, 'GET', `/v1/users/${player.userId}`)).body],
      ['GET /v1/users/{userId}/accruals', '200', (await call(app, 'GET', `/v1/users/${player.userId}/accruals`)).body],
      ['GET /v1/users/{userId}/payouts', '200', (await call(app, 'GET', `/v1/users/${player.userId}/payouts`)).body],
      ['GET /v1/users/{userId}/history', '200', (await call(app, 'GET', `/v1/users/${player.userId}/history?limit=2`)).body],
      ['POST /v1/admin/settlements', '200', run.body],
      // Before the kills below: the newest item is the payout just requested, as in the example.
      ['GET /v1/leaderboard', '200', (await call(app, 'GET', '/v1/leaderboard')).body],
      ['GET /v1/feed', '200', (await call(app, 'GET', '/v1/feed')).body],
      ['POST /v1/users', '200', (await call(app, 'POST', '/v1/users', { discordUserId: player.discordUserId })).body],
      ['POST /v1/users/{userId}/kills', '202', (await call(app, 'POST', `/v1/users/${player.userId}/kills`, { lifetimeKills: 20 })).body],
      ['GET /v1/donations', '200', (await call(app, 'GET', '/v1/donations')).body],
      ['GET /v1/admin/stats', '200', (await call(app, 'GET', '/v1/admin/stats')).body],
      ['GET /v1/admin/reconciliation', '200', (await call(app, 'GET', '/v1/admin/reconciliation')).body],
    ];
    expect(run.body.payoutsRequested).toBe(1);
    const differences = answers.flatMap(([key, status, answer]) => keyDifferences(example(key, status), answer).map((difference) => `${key}: ${difference}`));
    expect(differences).toEqual([]);
  });

  it('puts no key, seed or secret in the document', () => {
    expect(documentText).not.toContain(app.apiKey);
    expect(documentText).not.toMatch(/p2s_[A-Za-z0-9_-]{20,}/);
    const seed = (((document.components as Json).schemas as Record<string, Json>).SetOperatorSeedDto.properties as Record<string, Json>).seed;
    expect(seed.example).toBeUndefined();
  });

  it('serves Swagger UI at /docs, without a key, from its own assets only', async () => {
    const page = await anonymous('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    // Everything the page loads comes from this server: no CDN, no other host.
    expect(assets.filter((asset) => !asset.startsWith('/') || asset.startsWith('//'))).toEqual([]);
    for (const asset of assets) {
      const response = await anonymous(asset);
      expect([asset, response.status]).toEqual([asset, 200]);
      const text = Buffer.from(await response.arrayBuffer());
      expect(text.length).toBeGreaterThan(0);
      if (asset.endsWith('.js')) expect(response.headers.get('content-type')).toMatch(/javascript/);
      if (asset.endsWith('.css')) expect(response.headers.get('content-type')).toMatch(/^text\/css/);
    }
    expect(await (await anonymous('/docs/')).text()).toBe(html);
    const init = await (await anonymous('/docs/swagger-ui-init.js')).text();
    expect(init).toContain('"url":"/docs-json"');
    // Swagger UI would otherwise send the document's address to validator.swagger.io.
    expect(init).toContain('"validatorUrl":null');
    expect(init).not.toMatch(/https?:\/\//);
    // Only the files the page needs: not the package's own demo page and initializer.
    expect((await anonymous('/docs/swagger-initializer.js')).status).toBe(404);
    expect((await anonymous('/docs/package.json')).status).toBe(404);
  });

  it('keeps /docs and /docs-json out of the controllers, and counts them against the rate limit', async () => {
    expect(routes.filter((route) => route.path.startsWith('/docs'))).toEqual([]);
    const from = '203.0.113.99';
    const statuses: number[] = [];
    for (let request = 0; request < 6; request += 1) statuses.push((await anonymous(request % 2 === 0 ? '/docs-json' : '/docs', from)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await anonymous('/docs-json', from);
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as Json).code).toBe('rate_limited');
  });
});
