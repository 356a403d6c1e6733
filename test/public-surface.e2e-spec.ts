import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { sql } from 'slonik';
import { API_KEY_SCOPES, ApiKeys } from '../src/security/api-keys';
import { call, donateFrom, earner, type Earner, newBananoAccount, withLiveApp } from './support/scenario';
import { concrete, routeTable } from './support/route-table';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;

/** One answer as any browser or scraper gets it: no key. */
interface Fetched {
  readonly request: string;
  readonly status: number;
  readonly headers: string;
  readonly contentType: string;
  readonly text: string;
}

async function anonymous(app: TestApp, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Fetched> {
  const method = init.method ?? 'GET';
  const response = await fetch(`${app.baseUrl}${path}`, { method, headers: init.headers });
  const text = await response.text();
  return {
    request: `${method} ${path}`,
    status: response.status,
    headers: [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n'),
    contentType: response.headers.get('content-type') ?? '',
    text,
  };
}

/** The public routes and files (SPEC §4.6, §5; README "The public dashboard", "OpenAPI"). */
const PUBLIC_PATHS = [
  '/health',
  '/ready',
  '/metrics',
  '/v1/leaderboard',
  '/v1/leaderboard?by=earned&limit=100',
  '/v1/feed?limit=100',
  '/v1/donations',
  '/',
  '/dashboard/dashboard.js',
  '/dashboard/dashboard.css',
  '/dashboard/favicon.svg',
  '/dashboard/operator-qr.svg',
  '/docs',
  '/docs/swagger-ui-init.js',
  '/docs-json',
];

/** Bad input to the public routes, with the problem each must get: a 4xx, never a 5xx. */
const HOSTILE: ReadonlyArray<readonly [path: string, status: number, code: string]> = [
  ['/v1/leaderboard?by=deaths', 422, 'invalid_leaderboard_by'],
  ['/v1/leaderboard?by=kills&by=earned', 422, 'invalid_leaderboard_by'],
  ['/v1/leaderboard?limit=0', 422, 'invalid_limit'],
  ['/v1/leaderboard?limit=101', 422, 'invalid_limit'],
  ['/v1/feed?limit=-1', 422, 'invalid_limit'],
  ['/v1/feed?limit=1e1', 422, 'invalid_limit'],
  ['/v1/feed?limit=99999999999999999999999999', 422, 'invalid_limit'],
  ['/v1/feed?limit=%00', 422, 'invalid_limit'],
  ['/v1/feed?limit=1&limit=2', 422, 'invalid_limit'],
  // No public route pages: a cursor of any kind is a property it does not take.
  ['/v1/feed?cursor=eyJwIjoiMSJ9', 422, 'unknown_property'],
  [`/v1/leaderboard?cursor=${'A'.repeat(3_000)}`, 422, 'unknown_property'],
  [`/v1/feed?cursor=${'%FF'.repeat(1_000)}`, 422, 'unknown_property'],
  [`/v1/feed?cursor=${'x'.repeat(5_000)}`, 414, 'url_too_long'],
  ['/v1/feed?minPosition=1', 422, 'unknown_property'],
  ['/v1/feed?__proto__=1', 422, 'unknown_property'],
  ['/v1/leaderboard?constructor[prototype][x]=1', 422, 'unknown_property'],
  ['/v1/donations?limit=5', 422, 'unknown_property'],
  ['/metrics?name[]=x', 422, 'unknown_property'],
  ['/health?verbose=1', 422, 'unknown_property'],
  ['/ready?verbose=1', 422, 'unknown_property'],
  ['/v1/feed%ZZ', 400, 'invalid_url'],
  ['/dashboard/%2e%2e%2fpackage.json', 404, 'route_not_found'],
  ['/docs/%2e%2e%2f%2e%2e%2fpackage.json', 404, 'route_not_found'],
  ['/dashboard/nothing.js', 404, 'route_not_found'],
];

/**
 * Everything that is not public: ids a Discord id leads to or that name a record, personal data,
 * secrets and where the service's dependencies live.
 */
interface Hidden {
  readonly label: string;
  readonly value: string;
}

async function hiddenValues(app: TestApp, players: readonly Earner[], extra: readonly Hidden[]): Promise<Hidden[]> {
  const rows = (query: ReturnType<typeof sql.unsafe>) => app.pool.anyFirst(query);
  const accrualIds = await rows(sql.unsafe`SELECT accrual_id::text FROM reward_accruals`);
  const idempotencyKeys = await rows(sql.unsafe`SELECT idempotency_key FROM payouts`);
  const keyRows = await app.pool.any(sql.unsafe`SELECT key_id::text AS key_id, name, key_hash FROM api_keys`);
  const publicIdKey = String(await app.pool.oneFirst(sql.unsafe`SELECT key FROM public_id_key`));
  const databaseUrl = new URL(app.database.url);
  expect(accrualIds.length).toBeGreaterThan(0);
  expect(idempotencyKeys.length).toBeGreaterThan(0);
  return [
    ...players.flatMap((player) => [
      { label: 'user id', value: player.userId },
      { label: 'user id without dashes', value: player.userId.replace(/-/g, '') },
      { label: 'Discord id', value: player.discordUserId },
      { label: 'Epic account id', value: player.epicAccountId },
      { label: 'wallet address', value: player.address },
    ]),
    ...accrualIds.map((id) => ({ label: 'accrual id', value: String(id) })),
    ...idempotencyKeys.map((key) => ({ label: 'payout idempotency key', value: String(key) })),
    ...keyRows.flatMap((row) => [
      { label: 'API key id', value: String(row.key_id) },
      { label: 'API key name', value: String(row.name) },
      { label: 'API key hash', value: String(row.key_hash) },
    ]),
    { label: 'API key', value: app.apiKey },
    { label: 'public id key', value: publicIdKey },
    { label: 'public id key, first half', value: publicIdKey.slice(0, 32) },
    { label: 'database URL', value: app.database.url },
    { label: 'database name', value: databaseUrl.pathname.slice(1) },
    { label: 'database host and port', value: databaseUrl.host },
    ...extra,
  ];
}

function leaks(haystack: string, hidden: readonly Hidden[]): string[] {
  const lower = haystack.toLowerCase();
  return hidden.filter(({ value }) => value !== '' && lower.includes(value.toLowerCase())).map(({ label, value }) => `${label} (${value})`);
}

/**
 * The public surface (SPEC §4.6: health, metrics and the dashboard routes need no key): every
 * answer, bad input included, headers and all, shows no user, accrual or key id, no personal data
 * but the masked display name, no secret and no internal address; bad input is a 4xx problem.
 */
describe('the public surface', () => {
  it('shows no id, personal data, secret or internal address, in any answer or header, live, with donations and payouts', async () => {
    const masterKey = randomBytes(32).toString('base64');
    await withLiveApp({ openWithRaw: 1_000n * BAN, env: () => ({ LEDGER_MASTER_KEY: masterKey }) }, async ({ app, node, operator, seedFile, ingester }) => {
      // Given players with Epic accounts, wallets, accruals and live payouts, a donor and a named key,
      const players = [await earner(app, 12), await earner(app, 7)];
      await new ApiKeys(app.pool).create({ name: 'discord-bot-prod', scopes: API_KEY_SCOPES });
      const donor = await newBananoAccount();
      await donateFrom(node, donor, operator.address, 5n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1 });
      await synced(app);
      const run = await call(app, 'POST', '/v1/admin/settlements', {});
      expect([run.status, run.body.payoutsRequested]).toEqual([200, 2]);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 2, failed: 0 });
      await synced(app);
      const hidden = await hiddenValues(app, players, [
        { label: 'operator seed', value: (await readFile(seedFile, 'utf8')).trim() },
        { label: 'operator private key', value: operator.privateKey },
        { label: 'master key', value: masterKey },
        { label: 'master key as hex', value: Buffer.from(masterKey, 'base64').toString('hex') },
        { label: 'seed file path', value: seedFile },
        { label: 'Banano node host and port', value: new URL(node.url).host },
      ]);

      // when anyone reads every public route and file, and sends them bad input,
      const answers: Fetched[] = [];
      for (const path of PUBLIC_PATHS) answers.push(await anonymous(app, path));
      for (const path of PUBLIC_PATHS) answers.push(await anonymous(app, path, { method: 'HEAD' }));
      const refusals: Fetched[] = [];
      for (const [path] of HOSTILE) refusals.push(await anonymous(app, path));
      refusals.push(await anonymous(app, '/v1/feed', { method: 'POST' }));
      refusals.push(await anonymous(app, '/v1/feed', { headers: { authorization: `Bearer p2s_${'x'.repeat(43)}` } }));

      // then each public answer is a success, the feed shows live payouts, and nothing hidden is in any of them,
      for (const answer of answers) expect([answer.request, answer.status]).toEqual([answer.request, 200]);
      const feed = JSON.parse(answers.find((answer) => answer.request === 'GET /v1/feed?limit=100')?.text ?? '{}') as { gateway: string; items: Array<{ kind: string; blockUrl: string | null }> };
      expect(feed.gateway).toBe('live');
      expect(feed.items.filter((item) => item.kind === 'payout' && item.blockUrl !== null)).toHaveLength(2);
      const donations = JSON.parse(answers.find((answer) => answer.request === 'GET /v1/donations')?.text ?? '{}') as { topDonors: Array<{ address: string }> };
      expect(donations.topDonors.map((entry) => entry.address)).toEqual([donor.address]);
      // and each refusal is a problem with a stable code, naming nothing hidden either.
      HOSTILE.forEach(([path, status, code], index) => {
        const refusal = refusals[index];
        expect([path, refusal.status, refusal.contentType, (JSON.parse(refusal.text) as { code?: string }).code]).toEqual([
          path,
          status,
          'application/problem+json; charset=utf-8',
          code,
        ]);
      });
      // POST on a public GET route: 405, with its methods in Allow.
      expect([refusals.at(-2)?.status, refusals.at(-2)?.headers]).toEqual([405, expect.stringContaining('allow: GET, HEAD, OPTIONS')]);
      // A wrong key on a public route is no reason to refuse it.
      expect(refusals.at(-1)?.status).toBe(200);
      for (const answer of [...answers, ...refusals]) {
        expect([answer.request, leaks(`${answer.headers}\n${answer.text}`, hidden)]).toEqual([answer.request, []]);
        expect([answer.request, answer.text]).not.toEqual([answer.request, expect.stringMatching(/\(\S+:\d+:\d+\)|node_modules|\/src\/|slonik|postgres:\/\//)]);
      }
    });
  }, 120_000);

  it('tells browsers not to sniff any public answer, and lets no other site frame a public page', async () => {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      for (const path of [...PUBLIC_PATHS, '/docs/', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/v1/feed?limit=0', '/no-such-page', '/v1/feed%ZZ']) {
        const response = await fetch(`${app.baseUrl}${path}`);
        await response.arrayBuffer();
        expect([path, response.status, response.headers.get('x-content-type-options')]).toEqual([path, response.status, 'nosniff']);
        if (!(response.headers.get('content-type') ?? '').startsWith('text/html')) continue;
        // A page another site may frame can be clicked through without the visitor seeing it.
        expect([path, response.headers.get('x-frame-options'), response.headers.get('content-security-policy')]).toEqual([
          path,
          'DENY',
          expect.stringContaining("frame-ancestors 'none'"),
        ]);
      }
    } finally {
      await app.close();
    }
  });

  it('keeps the metrics to route patterns: random paths and ids add no series', async () => {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
    try {
      const patterns = new Set([...routeTable(app).map((route) => route.path), '/docs', '/docs/', '/docs-json', '/docs/swagger-ui-init.js', '/metrics', 'unmatched']);
      const series = async (): Promise<string[]> =>
        (await anonymous(app, '/metrics')).text.split('\n').filter((line) => line.startsWith('ledger_http_request_duration_seconds_count'));
      const tokens: string[] = [];
      const key = { authorization: `Bearer ${app.apiKey}` };
      /** Every kind of request that names something the caller made up, each with a fresh token. */
      const wave = async (): Promise<void> => {
        const token = randomBytes(8).toString('hex');
        tokens.push(token);
        await anonymous(app, `/${token}`);
        await anonymous(app, `/v1/users/${token}`);
        await anonymous(app, `/v1/users/${randomUUID()}`);
        await anonymous(app, `/v1/users/${randomUUID()}`, { headers: key });
        await anonymous(app, `/v1/payouts/${randomUUID()}`, { headers: key });
        await anonymous(app, `/dashboard/${token}.js`);
        await anonymous(app, `/docs/${token}`);
        await anonymous(app, `/v1/feed/${token}`);
        await anonymous(app, `/${token}`, { method: 'HEAD' });
        await anonymous(app, `/${token}`, { method: 'DELETE' });
        await anonymous(app, `/v1/feed?${token}=1`);
        await anonymous(app, `/v1/users/${'a'.repeat(150)}${token}`);
        for (const route of routeTable(app).filter((candidate) => candidate.method === 'GET')) await anonymous(app, concrete(route.path), { headers: key });
      };
      await wave();
      const once = await series();
      for (let round = 0; round < 5; round += 1) await wave();
      const after = await series();

      const labels = after.map((line) => /route="([^"]*)"/.exec(line)?.[1] ?? '');
      expect(labels.filter((route) => !patterns.has(route))).toEqual([]);
      const text = (await anonymous(app, '/metrics')).text;
      expect(tokens.filter((token) => text.includes(token))).toEqual([]);
      expect(after.map((line) => line.replace(/ \S+$/, ''))).toEqual(once.map((line) => line.replace(/ \S+$/, '')));
    } finally {
      await app.close();
    }
  }, 120_000);

  it('counts every public route and file against the client\'s IP', async () => {
    const perWindow = 2;
    const app = await startTestApp({
      SETTLEMENT_INTERVAL_SECONDS: '0',
      RATE_LIMIT_WINDOW_SECONDS: '60',
      RATE_LIMIT_IP_PER_MINUTE: String(perWindow),
      HTTP_TRUST_PROXY: '127.0.0.1',
    });
    try {
      let clients = 0;
      for (const path of PUBLIC_PATHS) {
        clients += 1;
        const client = { 'x-forwarded-for': `198.51.100.${clients}` };
        const statuses: number[] = [];
        for (let request = 0; request <= perWindow; request += 1) statuses.push((await anonymous(app, path, { headers: client })).status);
        const refused = await anonymous(app, path, { headers: client });
        expect([path, statuses.at(-1), refused.contentType, (JSON.parse(refused.text) as { code?: string }).code]).toEqual([
          path,
          429,
          'application/problem+json; charset=utf-8',
          'rate_limited',
        ]);
      }
    } finally {
      await app.close();
    }
  }, 60_000);
});
