import { randomUUID } from 'node:crypto';
import { openTransaction } from './support/open-transaction';
import { call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

/**
 * POST /v1/admin/abuse-flags/:flagId/clear (SPEC §4.2, §4.6): an admin closes a flag with a
 * reason, the event names the admin's key, and a user held back by a `high` flag is settled again.
 */
describe('clearing an abuse flag', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
  });

  afterAll(async () => {
    await app.close();
  });

  /** A player with 10 kills accrued and an open `impossible_delta` (high) flag. */
  async function flaggedPlayer(): Promise<{ userId: string; flagId: string }> {
    const { userId } = await earner(app, 10);
    const jump = await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 900 });
    expect(jump.body.flags).toEqual([expect.objectContaining({ flagType: 'impossible_delta', severity: 'high' })]);
    await synced(app);
    const user = await call(app, 'GET', `/v1/users/${userId}`);
    const [flag] = user.body.openFlags as Array<{ flagId: string }>;
    return { userId, flagId: flag.flagId };
  }

  const eventsOf = async (userId: string) => app.store.readStream(`user-${userId}`);

  it('closes the flag with the reason and the admin as actor, and the user is settled again', async () => {
    const { userId, flagId } = await flaggedPlayer();
    const held = await call(app, 'POST', '/v1/admin/settlements', { preview: true });
    expect(held.body).toMatchObject({ eligible: 0 });

    const cleared = await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: '  verified with the player  ' }, { 'x-request-id': 'clear-1' });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ flagId, userId, status: 'cleared', position: expect.any(String) });
    const [event] = (await eventsOf(userId)).filter((recorded) => recorded.type === 'AbuseFlagCleared');
    expect(event.data).toMatchObject({ flagId, userId, reason: 'verified with the player' });
    expect(event.metadata).toMatchObject({ actor: { kind: 'admin', name: 'test-all' }, correlationId: 'clear-1', clientIp: '127.0.0.1' });

    await synced(app);
    expect((await call(app, 'GET', `/v1/users/${userId}`)).body.openFlags).toEqual([]);
    expect((await call(app, 'POST', '/v1/admin/settlements', { preview: true })).body).toMatchObject({ eligible: 1 });
  });

  it('clears a flag just raised while the abuse_flags read model lags, by the flagId the observation answered', async () => {
    const { userId } = await earner(app, 10);
    await synced(app);
    // The abuse_flags projection is held back, as under load: its checkpoint row is locked.
    const frozen = await openTransaction(app.database.url);
    await frozen.client.query(`SELECT 1 FROM projection_checkpoints WHERE projection_name = 'abuse_flags' FOR UPDATE`);
    const jump = await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: 900 });
    const [raised] = jump.body.flags as Array<{ flagId: string }>;
    const clearing = call(app, 'POST', `/v1/admin/abuse-flags/${raised.flagId}/clear`, { reason: 'checked at once' });
    // The projection moves on while the clear waits for it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await frozen.end('ROLLBACK');
    const cleared = await clearing;

    expect({ status: cleared.status, body: cleared.body }).toMatchObject({ status: 200, body: { flagId: raised.flagId, userId, status: 'cleared' } });
    expect((await eventsOf(userId)).filter((recorded) => recorded.type === 'AbuseFlagCleared')).toHaveLength(1);
  });

  it('answers a flag cleared before as cleared, appending nothing', async () => {
    const { userId, flagId } = await flaggedPlayer();
    const first = await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: 'first' });
    expect(first.status).toBe(200);
    const before = (await eventsOf(userId)).length;
    const again = await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: 'second' });
    expect(again.status).toBe(200);
    // Nothing new: the position to wait for is still the first clear's.
    expect(again.body).toMatchObject({ flagId, status: 'cleared', position: first.body.position });
    expect(await eventsOf(userId)).toHaveLength(before);
  });

  it('refuses 400 nul_character a reason holding the NUL character on an open flag, which PostgreSQL cannot store, appending nothing', async () => {
    const { userId, flagId } = await flaggedPlayer();
    const before = (await eventsOf(userId)).length;

    for (const body of [{ reason: 'checked\u0000' }, { 'reason\u0000': 'checked' }]) {
      const refused = await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, body);
      expect({ status: refused.status, code: refused.body.code, contentType: refused.contentType }).toEqual({
        status: 400,
        code: 'nul_character',
        contentType: expect.stringContaining('application/problem+json'),
      });
    }

    expect(await eventsOf(userId)).toHaveLength(before);
    expect((await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: 'checked' })).status).toBe(200);
  });

  it('refuses 400 lone_surrogate a reason holding half a UTF-16 surrogate pair, which PostgreSQL cannot store, appending nothing', async () => {
    const { userId, flagId } = await flaggedPlayer();
    const before = (await eventsOf(userId)).length;

    // Valid JSON text, but no Unicode text: the event's jsonb refused it, and the clear was a 500.
    for (const text of ['{"reason":"checked \\ud83d"}', '{"reason":"\\udc00 checked"}']) {
      const refused = await fetch(`${app.baseUrl}/v1/admin/abuse-flags/${flagId}/clear`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
        body: text,
      });
      expect({ status: refused.status, code: ((await refused.json()) as { code?: string }).code, contentType: refused.headers.get('content-type') }).toEqual({
        status: 400,
        code: 'lone_surrogate',
        contentType: expect.stringContaining('application/problem+json'),
      });
    }

    expect(await eventsOf(userId)).toHaveLength(before);
    // A whole pair is text like any other.
    expect((await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: 'checked \ud83d\ude00' })).status).toBe(200);
  });

  it('refuses a reason it would misread: 415 unsupported_charset for a body not in UTF-8, 400 invalid_utf8 for bytes that are no UTF-8, appending nothing', async () => {
    const { userId, flagId } = await flaggedPlayer();
    const before = (await eventsOf(userId)).length;
    const clear = (contentType: string, body: Buffer, chunked = false): Promise<Response> =>
      fetch(`${app.baseUrl}/v1/admin/abuse-flags/${flagId}/clear`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': contentType },
        // A stream is sent chunked, with no Content-Length to find the bytes changed by.
        ...(chunked ? { body: new Blob([body]).stream(), duplex: 'half' } : { body }),
      } as RequestInit);
    const answer = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { code?: string }).code, contentType: response.headers.get('content-type') });
    // "café" as ISO-8859-1 writes it: the é is the one byte 0xE9, which read as UTF-8 became U+FFFD.
    const latin1 = Buffer.from('{"reason":"checked at the café"}', 'latin1');

    for (const charset of ['iso-8859-1', 'windows-1252', 'utf-16']) {
      expect(await answer(await clear(`application/json; charset=${charset}`, latin1))).toEqual({
        status: 415,
        code: 'unsupported_charset',
        contentType: expect.stringContaining('application/problem+json'),
      });
    }
    for (const contentType of ['application/json', 'application/json; charset=utf-8']) {
      for (const chunked of [false, true]) {
        expect(await answer(await clear(contentType, latin1, chunked))).toEqual({
          status: 400,
          code: 'invalid_utf8',
          contentType: expect.stringContaining('application/problem+json'),
        });
      }
    }

    expect(await eventsOf(userId)).toHaveLength(before);
    // UTF-8, however its charset is written, is read as it was sent.
    const utf8 = Buffer.from('{"reason":"checked at the café"}', 'utf8');
    expect((await clear('application/json; charset="UTF-8"', utf8)).status).toBe(200);
    const [event] = (await eventsOf(userId)).filter((recorded) => recorded.type === 'AbuseFlagCleared');
    expect(event.data).toMatchObject({ reason: 'checked at the café' });
  });

  it('refuses 400 json_too_deep, not nul_character, a body that both nests too deep and holds the NUL character', async () => {
    const before = await app.store.headPosition();
    const tooDeep = `${'['.repeat(40)}${']'.repeat(40)}`;

    const refused = await fetch(`${app.baseUrl}/v1/admin/abuse-flags/${randomUUID()}/clear`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: `{"reason":"checked\\u0000","deep":${tooDeep}}`,
    });

    expect({ status: refused.status, code: ((await refused.json()) as { code?: string }).code }).toEqual({ status: 400, code: 'json_too_deep' });
    expect(await app.store.headPosition()).toBe(before);
  });

  it.each([
    ['an unknown flag', () => `/v1/admin/abuse-flags/${randomUUID()}/clear`, { reason: 'x' }, 404, 'abuse_flag_not_found'],
    ['a flag id that is not a UUID', () => '/v1/admin/abuse-flags/not-a-flag/clear', { reason: 'x' }, 422, 'invalid_flag_id'],
    ['no reason', () => `/v1/admin/abuse-flags/${randomUUID()}/clear`, {}, 422, 'reason_required'],
    ['a blank reason', () => `/v1/admin/abuse-flags/${randomUUID()}/clear`, { reason: '   ' }, 422, 'invalid_reason'],
    ['a reason of 501 characters', () => `/v1/admin/abuse-flags/${randomUUID()}/clear`, { reason: 'r'.repeat(501) }, 422, 'invalid_reason'],
    ['an unknown property', () => `/v1/admin/abuse-flags/${randomUUID()}/clear`, { reason: 'x', force: true }, 422, 'unknown_property'],
  ])('refuses %s with problem+json, appending nothing', async (_case, path, body, status, code) => {
    const before = await app.store.headPosition();
    const answer = await call(app, 'POST', path(), body);
    expect({ status: answer.status, code: answer.body.code }).toEqual({ status, code });
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    expect(await app.store.headPosition()).toBe(before);
  });
});
