import { sql } from 'slonik';
import { userIdFromDiscordId } from '../src/identity/user/user.stream';
import { freePort } from '../src/platform/database/embedded-postgres';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { UUID_V7 } from './support/uuid-v7';

/** The test app's all-scope key, as a header. */
const bearer = (app: TestApp): Record<string, string> => ({ authorization: `Bearer ${app.apiKey}` });

describe('users over HTTP: POST /v1/users → UserRegistered → users → GET /v1/users/:userId', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  const post = (body: string, contentType: string | null = 'application/json'): Promise<Response> =>
    fetch(`${app.baseUrl}/v1/users`, {
      method: 'POST',
      headers: contentType === null ? bearer(app) : { ...bearer(app), 'content-type': contentType },
      body,
    });

  const eventCount = async (): Promise<number> =>
    Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int AS count FROM events`));

  it('registers a user (201), answers a repeat with 200 without appending, and serves the read model', async () => {
    const discordUserId = '300000000000000001';
    const before = await eventCount();

    const created = await post(JSON.stringify({ discordUserId, regionCode: 'EU' }));
    const createdBody = (await created.json()) as { userId: string; position: string };
    const repeated = await post(JSON.stringify({ discordUserId, regionCode: 'NAE' }));
    const repeatedBody = (await repeated.json()) as { userId: string; position: string };
    const read = await fetch(`${app.baseUrl}/v1/users/${createdBody.userId}?minPosition=${createdBody.position}`, { headers: bearer(app) });
    const user = (await read.json()) as Record<string, unknown>;

    expect(created.status).toBe(201);
    expect(createdBody.userId).toBe(userIdFromDiscordId(discordUserId));
    expect(createdBody.userId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(repeated.status).toBe(200);
    expect(repeatedBody).toEqual(createdBody);
    expect(await eventCount()).toBe(before + 1);
    expect(read.status).toBe(200);
    expect(user).toMatchObject({
      userId: createdBody.userId,
      discordUserId,
      regionCode: 'EU',
      epicAccountId: null,
      wallet: null,
      verificationStatus: null,
      lastSettledKillCount: 0,
      accruedKillCount: 0,
      lastObservedKillCount: null,
      lastSettlementAt: null,
      unsettledKills: 0,
      unsettledRaw: '0',
      unsettledBan: '0.00000000',
      totalPaidRaw: '0',
      totalPaidBan: '0.00000000',
      capsRemaining: { today: 150, thisWeek: 750 },
      openFlags: [],
    });
  });

  it('stores the command metadata: the caller request id as correlation id, and the actor', async () => {
    const response = await fetch(`${app.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { ...bearer(app), 'content-type': 'application/json', 'x-request-id': 'req-abc-123' },
      body: JSON.stringify({ discordUserId: '300000000000000002' }),
    });
    const { userId } = (await response.json()) as { userId: string };

    const [event] = await app.store.readStream(`user-${userId}`);

    expect(response.headers.get('x-request-id')).toBe('req-abc-123');
    expect(event.type).toBe('UserRegistered');
    // A time-ordered id (UUID v7: newEventId).
    expect(event.id).toMatch(UUID_V7);
    expect(event.data).toMatchObject({ userId, discordUserId: '300000000000000002', regionCode: null });
    expect(event.metadata).toEqual({
      correlationId: 'req-abc-123',
      causationId: null,
      actor: { kind: 'integration', name: 'test-all' },
      schemaVersion: 1,
    });
  });

  it('registers concurrent requests for the same Discord id exactly once', async () => {
    const before = await eventCount();
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => post(JSON.stringify({ discordUserId: '300000000000000003' }))),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 201]);
    expect(await eventCount()).toBe(before + 1);
  });

  describe('bad input gets a 4xx problem+json with a stable code and appends nothing', () => {
    it.each([
      ['a missing discordUserId', '{}', 422, 'discord_user_id_required'],
      ['a null discordUserId', '{"discordUserId":null}', 422, 'discord_user_id_required'],
      ['an empty discordUserId', '{"discordUserId":""}', 422, 'invalid_discord_user_id'],
      ['an over-long discordUserId', `{"discordUserId":"${'1'.repeat(21)}"}`, 422, 'invalid_discord_user_id'],
      ['a very long discordUserId', `{"discordUserId":"${'9'.repeat(100_000)}"}`, 422, 'invalid_discord_user_id'],
      ['a numeric discordUserId', '{"discordUserId":300000000000000009}', 422, 'invalid_discord_user_id'],
      ['an object discordUserId', '{"discordUserId":{"id":"300000000000000009"}}', 422, 'invalid_discord_user_id'],
      ['a discordUserId with letters', '{"discordUserId":"30000000000000000x"}', 422, 'invalid_discord_user_id'],
      // The same snowflake written with a leading zero would be another user id for the same player.
      ['a discordUserId with a leading zero', '{"discordUserId":"0300000000000000009"}', 422, 'invalid_discord_user_id'],
      // A snowflake is an unsigned 64-bit integer: at most 18446744073709551615.
      ['a discordUserId one past 2^64 − 1', '{"discordUserId":"18446744073709551616"}', 422, 'invalid_discord_user_id'],
      ['a discordUserId of twenty nines', '{"discordUserId":"99999999999999999999"}', 422, 'invalid_discord_user_id'],
      ['a regionCode that is not a string', '{"discordUserId":"300000000000000009","regionCode":7}', 422, 'invalid_region_code'],
      ['a regionCode with spaces', '{"discordUserId":"300000000000000009","regionCode":"E U"}', 422, 'invalid_region_code'],
      ['an unknown property', '{"discordUserId":"300000000000000009","admin":true}', 422, 'unknown_property'],
      ['malformed JSON', '{"discordUserId":', 400, 'malformed_json'],
      ['a prototype-poisoning body', '{"__proto__":{"admin":true},"discordUserId":"300000000000000009"}', 400, 'malformed_json'],
      ['a JSON array', '[{"discordUserId":"300000000000000009"}]', 422, 'invalid_request_body'],
      ['a JSON string', '"300000000000000009"', 422, 'invalid_request_body'],
      ['an empty body', '', 422, 'invalid_request_body'],
    ])('%s', async (_case, body, status, code) => {
      const before = await eventCount();

      const response = await post(body);
      const problem = (await response.json()) as Record<string, unknown>;

      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(problem).toMatchObject({ status, code, instance: '/v1/users' });
      expect(typeof problem.detail).toBe('string');
      expect(await eventCount()).toBe(before);
    });

    it('a body that is not JSON: 415 unsupported_media_type', async () => {
      const before = await eventCount();
      const response = await post('discordUserId=300000000000000009', 'application/x-www-form-urlencoded');
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({ code: 'unsupported_media_type' });
      expect(await eventCount()).toBe(before);
    });

    it('a body over the size limit: 413 payload_too_large', async () => {
      const before = await eventCount();
      const response = await post(JSON.stringify({ discordUserId: '300000000000000009', padding: 'x'.repeat(2_000_000) }));
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ code: 'payload_too_large' });
      expect(await eventCount()).toBe(before);
    });
  });

  describe('GET /v1/users/:userId', () => {
    it('answers 404 user_not_found for an id nobody registered', async () => {
      const response = await fetch(`${app.baseUrl}/v1/users/${userIdFromDiscordId('399999999999999999')}`, { headers: bearer(app) });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'user_not_found' });
    });

    it('answers 422 invalid_user_id for an id that is not a UUID', async () => {
      const response = await fetch(`${app.baseUrl}/v1/users/not-a-uuid`, { headers: bearer(app) });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ code: 'invalid_user_id' });
    });

    it('answers 422 invalid_min_position for a minPosition that is not a position', async () => {
      const response = await fetch(`${app.baseUrl}/v1/users/${userIdFromDiscordId('300000000000000001')}?minPosition=-1`, { headers: bearer(app) });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ code: 'invalid_min_position' });
    });

    it('answers 404 route_not_found as problem+json for an unknown route', async () => {
      const response = await fetch(`${app.baseUrl}/v1/nothing-here`, { headers: bearer(app) });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ code: 'route_not_found' });
    });
  });

  it('serves /health', async () => {
    const response = await fetch(`${app.baseUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /v1/users/:userId?minPosition= with a read model that lags', () => {
  let app: TestApp;
  let elsewhere: TestDatabase;
  let detached: PostgresEventStore;

  beforeAll(async () => {
    // Commands append to a store of their own, which the app's projector never reads: the
    // positions they return exist, and no read model ever reaches them.
    elsewhere = await createTestDatabase();
    detached = new PostgresEventStore(elsewhere.url);
    app = await startTestApp({ MIN_POSITION_WAIT_MS: '300' }, { eventStore: detached });
  });

  afterAll(async () => {
    await app.close();
    await detached.close();
    await elsewhere.drop();
  });

  it('answers 503 read_model_behind with Retry-After once the bounded wait is over', async () => {
    const registered = await fetch(`${app.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { ...bearer(app), 'content-type': 'application/json' },
      body: JSON.stringify({ discordUserId: '300000000000000001' }),
    });
    const { userId, position } = (await registered.json()) as { userId: string; position: string };
    const response = await fetch(`${app.baseUrl}/v1/users/${userId}?minPosition=${position}`, { headers: bearer(app) });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ code: 'read_model_behind' });
  });

  it('answers 422 invalid_min_position for a position past the last event stored', async () => {
    const response = await fetch(`${app.baseUrl}/v1/users/${userIdFromDiscordId('300000000000000002')}?minPosition=999999999`, { headers: bearer(app) });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ code: 'invalid_min_position' });
  });
});

describe('POST /v1/users while the event store is down', () => {
  let app: TestApp;
  let unreachable: PostgresEventStore;

  beforeAll(async () => {
    unreachable = new PostgresEventStore(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, { connectionTimeoutMs: 2_000 });
    app = await startTestApp({}, { eventStore: unreachable });
  });

  afterAll(async () => {
    await app.close();
    await unreachable.close();
  });

  it('answers 503 event_store_unavailable with Retry-After, and records nothing', async () => {
    const response = await fetch(`${app.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { ...bearer(app), 'content-type': 'application/json' },
      body: JSON.stringify({ discordUserId: '300000000000000077' }),
    });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ code: 'event_store_unavailable' });
    expect(await app.store.readStream(`user-${userIdFromDiscordId('300000000000000077')}`)).toEqual([]);
  });
});
