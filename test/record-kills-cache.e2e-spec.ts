import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { newBananoAccount } from './support/scenario';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Kill observations decide on the user's state as this process last saw it (UserStateCache in
 * src/rewards/record-kills). Other writers move user streams on without telling it; the answers
 * must be the same as if every observation had read the whole stream.
 */
describe('kill observations on a cached user state', () => {
  let app: TestApp;
  let discordSequence = 410_000_000_000_000_000n;
  let epicSequence = 0;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${app.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  async function newUser(): Promise<string> {
    discordSequence += 1n;
    const { body } = await call('POST', '/v1/users', { discordUserId: discordSequence.toString() });
    return body.userId as string;
  }

  function epicId(): string {
    epicSequence += 1;
    return epicSequence.toString(16).padStart(32, 'c');
  }

  const minutesAgo = (minutes: number): string => new Date(Date.now() - minutes * 60_000).toISOString();

  const streamTypes = async (userId: string): Promise<readonly string[]> =>
    app.pool.manyFirst(sql.unsafe`SELECT event_type FROM events WHERE stream_name = ${`user-${userId}`} ORDER BY stream_revision`);

  it('appends after another writer moved the stream on, on the state that writer left', async () => {
    const userId = await newUser();
    expect((await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: epicId(), lifetimeKills: 100 })).status).toBe(200);
    const first = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 110, observedAt: minutesAgo(3) });
    expect(first.body.accrual).toMatchObject({ kills: 10, fromKillCount: 100, toKillCount: 110 });

    // Another handler appends to the stream; this process's cached state is now one revision behind.
    const { address } = await newBananoAccount();
    expect((await call('PUT', `/v1/users/${userId}/wallet`, { address })).status).toBe(200);

    const second = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 125, observedAt: minutesAgo(2) });
    expect(second.status).toBe(202);
    expect(second.body.accrual).toMatchObject({ kills: 15, fromKillCount: 110, toKillCount: 125 });
    expect(await streamTypes(userId)).toEqual([
      'UserRegistered',
      'EpicAccountLinked',
      'VerificationRecorded',
      'KillsObserved',
      'AccrualRecorded',
      'WalletLinked',
      'KillsObserved',
      'AccrualRecorded',
    ]);
  });

  it('does not refuse on a cached state: an Epic link made since is honoured', async () => {
    const userId = await newUser();
    const refused = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 50, observedAt: minutesAgo(3) });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 422, code: 'epic_account_not_linked' });

    expect((await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: epicId(), lifetimeKills: 40 })).status).toBe(200);
    const accepted = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 50, observedAt: minutesAgo(2) });
    expect(accepted.status).toBe(202);
    expect(accepted.body.accrual).toMatchObject({ kills: 10, fromKillCount: 40, toKillCount: 50 });
  });

  it('refuses on the stream as stored: an observation another instance recorded since still bounds observedAt', async () => {
    const userId = await newUser();
    const epicAccountId = epicId();
    expect((await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 0 })).status).toBe(200);
    expect((await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 5, observedAt: minutesAgo(10) })).status).toBe(202);

    // Another instance of the service records a later observation: this process does not hear of it.
    const [last] = (await app.store.readStream(`user-${userId}`)).slice(-1);
    const observedAt = minutesAgo(5);
    await app.store.appendToStream(
      `user-${userId}`,
      [
        {
          id: randomUUID(),
          type: 'KillsObserved',
          data: { userId, epicAccountId, lifetimeKills: 7, observedAt, epochMinute: Math.floor(Date.parse(observedAt) / 60_000), skippedUpToKillCount: null },
          metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'integration', name: 'other-instance' }, schemaVersion: 1 },
        },
      ],
      { expectedRevision: last.revision },
    );

    // On its cached state the observation below would be in order; on the stream it is not.
    const earlier = await call('POST', '/v1/kills/batch', { observations: [{ userId, lifetimeKills: 8, observedAt: minutesAgo(8) }] });
    expect(earlier.body.results).toMatchObject([{ status: 'rejected', error: { status: 422, code: 'observed_at_before_previous' } }]);
    const later = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 9, observedAt: minutesAgo(4) });
    expect(later.body.accrual).toMatchObject({ kills: 4, fromKillCount: 5, toKillCount: 9 });
  });
});
