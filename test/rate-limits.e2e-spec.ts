import { randomUUID } from 'node:crypto';
import { API_KEY_SCOPES, ApiKeys } from '../src/security/api-keys';
import { startTestApp, type TestApp } from './support/test-app';

interface Sent {
  readonly status: number;
  readonly contentType: string;
  readonly retryAfter: string | null;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

/**
 * Rate limits (SPEC §4.6) with small numbers and short windows: 3 requests per key and 2 per IP
 * in each 2-second window. The app trusts 127.0.0.1 as a proxy, so each test names its own client
 * address with X-Forwarded-For and starts with buckets of its own.
 */
describe('rate limits', () => {
  const windowSeconds = 2;
  const keyPerWindow = 3;
  const ipPerWindow = 2;
  let app: TestApp;
  let keys: ApiKeys;
  let clients = 0;

  beforeAll(async () => {
    app = await startTestApp({
      SETTLEMENT_INTERVAL_SECONDS: '0',
      RATE_LIMIT_WINDOW_SECONDS: String(windowSeconds),
      RATE_LIMIT_KEY_PER_MINUTE: String((keyPerWindow * 60) / windowSeconds),
      RATE_LIMIT_IP_PER_MINUTE: String((ipPerWindow * 60) / windowSeconds),
      HTTP_TRUST_PROXY: '127.0.0.1',
    });
    keys = new ApiKeys(app.pool);
  });

  afterAll(async () => {
    await app.close();
  });

  /** A fresh client address, from the documentation range (RFC 5737). */
  const newClient = (): string => {
    clients += 1;
    return `203.0.113.${clients}`;
  };
  const newKey = async (): Promise<string> => (await keys.create({ name: `rate-${randomUUID()}`, scopes: API_KEY_SCOPES })).key;

  async function send(method: string, path: string, options: { key?: string; client: string; body?: unknown }): Promise<Sent> {
    const headers: Record<string, string> = { 'x-forwarded-for': options.client };
    if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${app.baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      retryAfter: response.headers.get('retry-after'),
      text,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }

  const unknownUser = (): string => `/v1/users/${randomUUID()}`;

  function expectRateLimited(answer: Sent, limit: 'key' | 'ip'): void {
    expect(answer.status).toBe(429);
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status: 429, code: 'rate_limited', limit });
    const seconds = answer.body.retryAfterSeconds as number;
    expect(Number.isInteger(seconds) && seconds >= 1 && seconds <= windowSeconds).toBe(true);
    expect(answer.retryAfter).toBe(String(seconds));
  }

  it('answers 429 rate_limited with Retry-After once a key has spent its window, never naming the key; another key is unaffected', async () => {
    const [spent, other] = [await newKey(), await newKey()];
    const client = newClient();
    for (let n = 0; n < keyPerWindow; n += 1) expect((await send('GET', unknownUser(), { key: spent, client })).status).toBe(404);

    const refused = await send('GET', unknownUser(), { key: spent, client });
    expectRateLimited(refused, 'key');
    expect(refused.text).not.toContain(spent);
    // The limit follows the key, wherever it calls from.
    expectRateLimited(await send('GET', '/v1/donations', { key: spent, client: newClient() }), 'key');

    expect((await send('GET', unknownUser(), { key: other, client })).status).toBe(404);
  });

  it('counts requests without a valid key against the client IP (public routes, 401s, unknown paths); a valid key from that IP still gets through', async () => {
    const client = newClient();
    expect((await send('GET', '/v1/donations', { client })).status).toBe(200);
    expect((await send('GET', unknownUser(), { key: `p2s_${'x'.repeat(43)}`, client })).status).toBe(401);

    expectRateLimited(await send('GET', '/v1/donations', { client }), 'ip');
    expectRateLimited(await send('GET', unknownUser(), { client }), 'ip');
    expectRateLimited(await send('GET', '/no/such/route', { client }), 'ip');

    // Keyed requests count against their key only, so integrations behind one address do not
    // spend each other's allowance, nor the public's.
    expect((await send('GET', unknownUser(), { key: await newKey(), client })).status).toBe(404);
    expect((await send('GET', '/v1/donations', { client: newClient() })).status).toBe(200);
  });

  it('counts an IPv6 client by its /64, whose other 64 bits a host picks itself, and an IPv4 client however its address is written', async () => {
    clients += 1;
    const prefix = `2001:db8:${clients.toString(16)}:7`;
    expect((await send('GET', '/v1/donations', { client: `${prefix}::1` })).status).toBe(200);
    expect((await send('GET', '/v1/donations', { client: `${prefix}:0:0:0:2` })).status).toBe(200);
    expectRateLimited(await send('GET', '/v1/donations', { client: `${prefix.toUpperCase()}:FFFF:FFFF:FFFF:FFFF` }), 'ip');
    expect((await send('GET', '/v1/donations', { client: `${prefix}1::1` })).status).toBe(200);

    const [ipv4, otherIpv4] = [newClient(), newClient()];
    expect((await send('GET', '/v1/donations', { client: `::ffff:${ipv4}` })).status).toBe(200);
    expect((await send('GET', '/v1/donations', { client: ipv4 })).status).toBe(200);
    expectRateLimited(await send('GET', '/v1/donations', { client: `::ffff:${ipv4}` }), 'ip');
    // An IPv4 address in IPv6 form is still one client, not the /64 every such address shares.
    expect((await send('GET', '/v1/donations', { client: `::ffff:${otherIpv4}` })).status).toBe(200);
  });

  it('lets a key in again once its window has passed', async () => {
    const key = await newKey();
    const client = newClient();
    for (let n = 0; n < keyPerWindow; n += 1) await send('GET', unknownUser(), { key, client });
    const refused = await send('GET', unknownUser(), { key, client });
    expectRateLimited(refused, 'key');

    await new Promise((resolve) => setTimeout(resolve, Number(refused.retryAfter) * 1000 + 100));
    expect((await send('GET', unknownUser(), { key, client })).status).toBe(404);
  });

  it('refuses a command over the limit before it runs: nothing is appended', async () => {
    const key = await newKey();
    const client = newClient();
    const discordUserId = '790000000000000001';
    for (let n = 0; n < keyPerWindow; n += 1) await send('GET', unknownUser(), { key, client });
    const head = await app.store.headPosition();

    const refused = await send('POST', '/v1/users', { key, client, body: { discordUserId } });
    expectRateLimited(refused, 'key');
    expect(await app.store.headPosition()).toBe(head);

    // The same command, once the window has passed, is one that appends.
    await new Promise((resolve) => setTimeout(resolve, Number(refused.retryAfter) * 1000 + 100));
    expect((await send('POST', '/v1/users', { key, client, body: { discordUserId } })).status).toBe(201);
    expect(await app.store.headPosition()).not.toBe(head);
  });
});
