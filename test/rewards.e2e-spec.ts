import bananojsModule = require('@bananocoin/bananojs');
import { sql } from 'slonik';
import { userAuditOutput } from '../src/cli/user-audit.commands';
import { claimEpicAccount } from '../src/identity/epic-account-claims';
import { userIdFromDiscordId } from '../src/identity/user/user.stream';
import { openTransaction } from './support/open-transaction';
import { encodeCursor } from '../src/platform/http/paging';
import { startTestApp, synced, type TestApp } from './support/test-app';

interface TestKeys {
  getPrivateKey(seed: string, index: number): string;
  getPublicKey(privateKey: string): Promise<string>;
  getBananoAccount(publicKey: string): string;
  signMessage(privateKey: string, message: string): Promise<string>;
}
const bananojs = bananojsModule as unknown as TestKeys;

const EPIC = '0123456789abcdef0123456789abcdef';

describe('rewards over HTTP: Epic link, wallet, kills, accruals, flags, history', () => {
  let app: TestApp;
  let discordSequence = 400_000_000_000_000_000n;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${app.baseUrl}${path}`, {
      method,
      headers: body === undefined ? { authorization: `Bearer ${app.apiKey}` } : { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const eventCount = async (): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events`));

  async function newUser(): Promise<string> {
    discordSequence += 1n;
    const { body } = await call('POST', '/v1/users', { discordUserId: discordSequence.toString() });
    return body.userId as string;
  }

  async function linkedUser(baseline = 100, epicAccountId = randomEpicId()): Promise<string> {
    const userId = await newUser();
    const linked = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: baseline });
    expect(linked.status).toBe(200);
    return userId;
  }

  let epicSequence = 0;
  function randomEpicId(): string {
    epicSequence += 1;
    return epicSequence.toString(16).padStart(32, 'a');
  }

  async function wallet(seedDigit: string): Promise<{ address: string; sign: (message: string) => Promise<string> }> {
    const privateKey = bananojs.getPrivateKey(seedDigit.repeat(64), 0);
    const address = bananojs.getBananoAccount(await bananojs.getPublicKey(privateKey));
    return { address, sign: (message) => bananojs.signMessage(privateKey, message) };
  }

  /** Asserts the call is refused with the code and status, and that no event was appended. */
  async function expectRefused(method: string, path: string, body: unknown, status: number, code: string): Promise<void> {
    const before = await eventCount();
    const response = await call(method, path, body);
    expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
    expect(await eventCount()).toBe(before);
  }

  it('takes a new user from registration to an exact accrual, and shows it all', async () => {
    const userId = await newUser();
    const { address, sign } = await wallet('2');
    const message = `Pay2Slay: ${userId} owns this wallet`;

    const linked = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: EPIC.toUpperCase(), lifetimeKills: 100 });
    const walletLinked = await call('PUT', `/v1/users/${userId}/wallet`, { address });
    const verified = await call('POST', `/v1/users/${userId}/wallet/verify`, { address, message, signature: await sign(message) });
    const kills = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 130 });
    const user = await call('GET', `/v1/users/${userId}?minPosition=${kills.body.position as string}`);
    const accruals = await call('GET', `/v1/users/${userId}/accruals?minPosition=${kills.body.position as string}`);
    const history = await call('GET', `/v1/users/${userId}/history`);

    expect(linked).toEqual({ status: 200, body: { userId, epicAccountId: EPIC, baselineKills: 100, position: expect.any(String) } });
    expect(walletLinked.body).toMatchObject({ address, primary: true, verified: false });
    expect(verified).toMatchObject({ status: 200, body: { address, verified: true } });
    expect(kills.status).toBe(202);
    expect(kills.body.accrual).toMatchObject({
      userId,
      kills: 30,
      fromKillCount: 100,
      toKillCount: 130,
      ratePerKillRaw: '10000000000000000000000000000',
      ratePerKillBan: '0.10000000',
      amountRaw: '300000000000000000000000000000',
      amountBan: '3.00000000',
      settled: false,
      payoutId: null,
    });
    expect(user.body).toMatchObject({
      userId,
      epicAccountId: EPIC,
      wallet: { address, verified: true },
      verificationStatus: 'ok',
      accruedKillCount: 30,
      lastSettledKillCount: 0,
      lastObservedKillCount: 130,
      unsettledKills: 30,
      unsettledRaw: '300000000000000000000000000000',
      unsettledBan: '3.00000000',
      openFlags: [],
    });
    expect(accruals.body).toEqual({ items: [kills.body.accrual], nextCursor: null });
    expect((history.body.items as Array<{ type: string }>).map((item) => item.type)).toEqual([
      'UserRegistered',
      'EpicAccountLinked',
      'VerificationRecorded',
      'WalletLinked',
      'WalletVerified',
      'KillsObserved',
      'AccrualRecorded',
    ]);
  });

  it('defers same-minute kills to the next minute, over single and batch routes, without counting twice', async () => {
    const userId = await linkedUser(100);
    const minute = Math.floor(Date.now() / 60_000) - 3;
    const at = (offsetSeconds: number): string => new Date(minute * 60_000 + offsetSeconds * 1000).toISOString();

    const first = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 110, observedAt: at(1) });
    const batch = await call('POST', '/v1/kills/batch', {
      observations: [
        { userId, lifetimeKills: 115, observedAt: at(30) },
        { userId, lifetimeKills: 121, observedAt: at(70) },
      ],
    });
    const accruals = await call('GET', `/v1/users/${userId}/accruals?minPosition=${(batch.body.results as Array<{ position: string }>)[1].position}`);

    expect(first.body.accrual).toMatchObject({ kills: 10, epochMinute: minute });
    const results = batch.body.results as Array<{ status: string; accrual: { kills: number; fromKillCount: number; epochMinute: number } | null }>;
    expect(results.map((result) => result.status)).toEqual(['recorded', 'recorded']);
    expect(results[0].accrual).toBeNull();
    expect(results[1].accrual).toMatchObject({ kills: 11, fromKillCount: 110, epochMinute: minute + 1 });
    expect((accruals.body.items as Array<{ kills: number }>).map((item) => item.kills)).toEqual([11, 10]);
  });

  it('accrues deferred kills of the old account when another is linked before a later observation', async () => {
    const userId = await linkedUser(100);
    const minute = Math.floor(Date.now() / 60_000) - 3;
    const at = (offsetSeconds: number): string => new Date(minute * 60_000 + offsetSeconds * 1000).toISOString();
    await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 110, observedAt: at(1) });
    const deferred = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 130, observedAt: at(20) });

    const relinked = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: randomEpicId(), lifetimeKills: 0 });
    const accruals = await call('GET', `/v1/users/${userId}/accruals?minPosition=${String(relinked.body.position)}`);

    expect(deferred.body.accrual).toBeNull();
    expect(relinked.status).toBe(200);
    const items = accruals.body.items as Array<{ kills: number; fromKillCount: number; toKillCount: number }>;
    expect(items.map((item) => [item.kills, item.fromKillCount, item.toKillCount])).toEqual([
      [20, 110, 130],
      [10, 100, 110],
    ]);
  });

  it('links an Epic account another user held from no lower than that user accrued of it: its kills are never paid twice', async () => {
    const passed = randomEpicId();
    const holder = await linkedUser(10, passed);
    const minute = Math.floor(Date.now() / 60_000) - 3;
    expect((await call('POST', `/v1/users/${holder}/kills`, { lifetimeKills: 50, observedAt: new Date(minute * 60_000).toISOString() })).status).toBe(202);
    expect((await call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: randomEpicId(), lifetimeKills: 0 })).status).toBe(200);
    const next = await newUser();

    // 30 is a stale count of the account: the holder accrued it up to 50.
    const linked = await call('PUT', `/v1/users/${next}/epic-account`, { epicAccountId: passed, lifetimeKills: 30 });
    const kills = await call('POST', `/v1/users/${next}/kills`, { lifetimeKills: 60 });

    expect(linked).toMatchObject({ status: 200, body: { epicAccountId: passed, baselineKills: 50 } });
    expect(kills.body.accrual).toMatchObject({ kills: 10, fromKillCount: 50, toKillCount: 60 });
    const history = await call('GET', `/v1/users/${next}/history`);
    const link = (history.body.items as Array<{ type: string; data: Record<string, unknown> }>).find((item) => item.type === 'EpicAccountLinked');
    expect(link?.data).toMatchObject({ baselineKills: 50, baselineFloor: { userId: holder, killCount: 50 } });
    expect(await userAuditOutput(app.store, next, {})).toContain(`epic ${passed}, baseline 50 kills (integration), no lower than user ${holder} accrued of it  |`);
  });

  it('stamps an observation sent without a time, and never refuses one for a time it did not send', async () => {
    const userId = await linkedUser(100);
    const observedTimes = async (): Promise<string[]> => {
      const history = await call('GET', `/v1/users/${userId}/history?limit=100`);
      return (history.body.items as Array<{ type: string; data: { observedAt: string } }>).filter((item) => item.type === 'KillsObserved').map((item) => item.data.observedAt);
    };
    // A poller's clock 45 s ahead of the ledger's, then an integration that leaves the time to the ledger.
    const ahead = new Date(Date.now() + 45_000).toISOString();
    const first = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 110, observedAt: ahead });
    const second = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 112 });
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(await observedTimes()).toEqual([ahead, ahead]);

    // Observations of one user at once: each decided after another was appended is decided again,
    // later than the ledger read its clock for it.
    const together = await Promise.all(Array.from({ length: 12 }, (_, n) => call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 113 + n })));
    expect(together.filter((answer) => answer.status !== 202 && answer.body.code !== 'concurrency_conflict')).toEqual([]);
    expect(together.some((answer) => answer.status === 202)).toBe(true);
    const times = await observedTimes();
    expect(times.length).toBe(2 + together.filter((answer) => answer.status === 202).length);
    expect([...times].sort()).toEqual(times);
  });

  it('reads an observedAt or lifetimeKills given as null as not given', async () => {
    const userId = await linkedUser(100);
    const before = Math.floor(Date.now() / 60_000);

    // No stats API here, so a link without lifetimeKills has no baseline to read: refused, not a 500.
    const link = await call('PUT', `/v1/users/${await newUser()}/epic-account`, { epicAccountId: randomEpicId(), lifetimeKills: null });
    const single = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 110, observedAt: null });
    const batch = await call('POST', '/v1/kills/batch', { observations: [{ userId, lifetimeKills: 111, observedAt: null }] });

    expect({ status: link.status, code: link.body.code }).toEqual({ status: 422, code: 'lifetime_kills_required' });
    expect(single.status).toBe(202);
    // Stamped by the ledger now; null was once the time 0, 1970-01-01, and accrued in minute 0.
    expect((single.body.accrual as { epochMinute: number }).epochMinute).toBeGreaterThanOrEqual(before);
    expect(batch.body.results).toMatchObject([{ status: 'recorded', accrual: null }]);
    const history = await call('GET', `/v1/users/${userId}/history?limit=100`);
    const times = (history.body.items as Array<{ type: string; data: { observedAt: string } }>).filter((item) => item.type === 'KillsObserved').map((item) => Date.parse(item.data.observedAt));
    expect(times.every((time) => time >= before * 60_000)).toBe(true);
  });

  it('pages accruals newest first with an opaque cursor', async () => {
    const userId = await linkedUser(0);
    const minute = Math.floor(Date.now() / 60_000) - 10;
    for (let n = 1; n <= 3; n += 1) {
      await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: n, observedAt: new Date((minute + n) * 60_000).toISOString() });
    }
    const first = await call('GET', `/v1/users/${userId}/accruals?limit=2&minPosition=${(await app.store.headPosition())?.toString() ?? '0'}`);
    const second = await call('GET', `/v1/users/${userId}/accruals?limit=2&cursor=${first.body.nextCursor as string}`);

    expect((first.body.items as Array<{ epochMinute: number }>).map((item) => item.epochMinute)).toEqual([minute + 3, minute + 2]);
    expect((second.body.items as Array<{ epochMinute: number }>).map((item) => item.epochMinute)).toEqual([minute + 1]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('raises abuse flags and shows them open on the user', async () => {
    const userId = await linkedUser(100);
    const now = Date.now();
    await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 120, observedAt: new Date(now - 120_000).toISOString() });
    const decreased = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 110, observedAt: new Date(now - 60_000).toISOString() });
    const impossible = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 5_000, observedAt: new Date(now).toISOString() });
    const user = await call('GET', `/v1/users/${userId}?minPosition=${impossible.body.position as string}`);

    expect(decreased.body).toMatchObject({ accrual: null, flags: [{ flagType: 'kills_decreased', severity: 'med' }] });
    expect(impossible.body).toMatchObject({ accrual: null, flags: [{ flagType: 'impossible_delta', severity: 'high' }] });
    expect((user.body.openFlags as Array<{ flagType: string }>).map((flag) => flag.flagType).sort()).toEqual(['impossible_delta', 'kills_decreased']);
    expect(user.body.accruedKillCount).toBe(20);
  });

  it('flags a wallet shared with another user', async () => {
    const { address } = await wallet('3');
    const first = await newUser();
    const second = await newUser();
    const linked = await call('PUT', `/v1/users/${first}/wallet`, { address });
    await synced(app);
    const shared = await call('PUT', `/v1/users/${second}/wallet`, { address });
    const user = await call('GET', `/v1/users/${second}?minPosition=${shared.body.position as string}`);
    expect(linked.status).toBe(200);
    expect(user.body.openFlags).toEqual([{ flagId: expect.any(String), flagType: 'shared_wallet', severity: 'low' }]);
  });

  it('flags a wallet shared with another user who linked it a moment before, while the wallet read model lags', async () => {
    const { address } = await wallet('4');
    const first = await newUser();
    const second = await newUser();
    await synced(app);
    // The wallet_links projection is held back, as under load: its checkpoint row is locked.
    const frozen = await openTransaction(app.database.url);
    await frozen.client.query(`SELECT 1 FROM projection_checkpoints WHERE projection_name = 'wallet_links' FOR UPDATE`);
    const linked = await call('PUT', `/v1/users/${first}/wallet`, { address });
    const shared = call('PUT', `/v1/users/${second}/wallet`, { address });
    // The projection moves on while the second link waits for it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await frozen.end('ROLLBACK');
    const sharedAnswer = await shared;
    const user = await call('GET', `/v1/users/${second}?minPosition=${sharedAnswer.body.position as string}`);
    expect([linked.status, sharedAnswer.status]).toEqual([200, 200]);
    expect(user.body.openFlags).toEqual([{ flagId: expect.any(String), flagType: 'shared_wallet', severity: 'low' }]);
  });

  describe('Epic account link refusals append nothing', () => {
    it.each([
      ['a missing epicAccountId', { lifetimeKills: 1 }, 422, 'epic_account_id_required'],
      ['an epicAccountId that is not hex', { epicAccountId: 'z'.repeat(32), lifetimeKills: 1 }, 422, 'invalid_epic_account_id'],
      ['an epicAccountId of the wrong length', { epicAccountId: 'a'.repeat(31), lifetimeKills: 1 }, 422, 'invalid_epic_account_id'],
      ['a negative lifetimeKills', { epicAccountId: EPIC, lifetimeKills: -1 }, 422, 'invalid_lifetime_kills'],
      ['a fractional lifetimeKills', { epicAccountId: EPIC, lifetimeKills: 1.5 }, 422, 'invalid_lifetime_kills'],
      ['a huge lifetimeKills', { epicAccountId: EPIC, lifetimeKills: 10_000_001 }, 422, 'invalid_lifetime_kills'],
      ['a string lifetimeKills', { epicAccountId: EPIC, lifetimeKills: '5' }, 422, 'invalid_lifetime_kills'],
      ['no lifetimeKills while the stats API is not configured', { epicAccountId: randomEpicId() }, 422, 'lifetime_kills_required'],
    ])('%s', async (_case, body, status, code) => {
      await expectRefused('PUT', `/v1/users/${await newUser()}/epic-account`, body, status, code);
    });

    it('an unregistered user: 404 user_not_found, and the Epic id stays free', async () => {
      const epicAccountId = randomEpicId();
      await expectRefused('PUT', `/v1/users/${userIdFromDiscordId('499999999999999999')}/epic-account`, { epicAccountId, lifetimeKills: 1 }, 404, 'user_not_found');
      const other = await newUser();
      expect((await call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId, lifetimeKills: 1 })).status).toBe(200);
    });

    it('an Epic id linked to another user: 409 epic_account_already_linked', async () => {
      const epicAccountId = randomEpicId();
      await linkedUser(5, epicAccountId);
      await expectRefused('PUT', `/v1/users/${await newUser()}/epic-account`, { epicAccountId, lifetimeKills: 5 }, 409, 'epic_account_already_linked');
    });

    it('lets only one of two users linking the same Epic id at once succeed', async () => {
      const epicAccountId = randomEpicId();
      const [a, b] = [await newUser(), await newUser()];
      const outcomes = await Promise.all([a, b].map((userId) => call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 3 })));
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual([200, 409]);
    });

    describe('a claim no link backs (left by a process killed between the claim and the append)', () => {
      const claimHolder = async (epicAccountId: string): Promise<string | null> =>
        app.pool.maybeOneFirst(sql.unsafe`SELECT user_id FROM epic_account_claims WHERE epic_account_id = ${epicAccountId}`) as Promise<string | null>;
      const ageClaim = async (epicAccountId: string, age: string): Promise<void> => {
        await app.pool.query(sql.unsafe`UPDATE epic_account_claims SET claimed_at = now() - ${age}::interval WHERE epic_account_id = ${epicAccountId}`);
      };
      const leaveClaim = async (epicAccountId: string, userId: string, age: string): Promise<void> => {
        await app.pool.query(sql.unsafe`INSERT INTO epic_account_claims (epic_account_id, user_id, claimed_at) VALUES (${epicAccountId}, ${userId}, now() - ${age}::interval)`);
      };

      it('keeps the id from others for 10 minutes, as a link in flight, then lets another user link it', async () => {
        const epicAccountId = randomEpicId();
        const [holder, other] = [await newUser(), await newUser()];
        await leaveClaim(epicAccountId, holder, '9 minutes');

        await expectRefused('PUT', `/v1/users/${other}/epic-account`, { epicAccountId, lifetimeKills: 4 }, 409, 'epic_account_already_linked');
        await ageClaim(epicAccountId, '11 minutes');
        const linked = await call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId, lifetimeKills: 4 });

        expect(linked).toMatchObject({ status: 200, body: { epicAccountId, baselineKills: 4 } });
        expect(await claimHolder(epicAccountId)).toBe(other);
        await expectRefused('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId, lifetimeKills: 4 }, 409, 'epic_account_already_linked');
      });

      it('frees the old id of a user who linked another, when the old claim was never released', async () => {
        const oldEpic = randomEpicId();
        const holder = await linkedUser(5, oldEpic);
        expect((await call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: randomEpicId(), lifetimeKills: 6 })).status).toBe(200);
        await leaveClaim(oldEpic, holder, '1 hour');
        const other = await newUser();

        expect((await call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId: oldEpic, lifetimeKills: 5 })).status).toBe(200);
        expect(await claimHolder(oldEpic)).toBe(other);
      });

      it('takes the old id over from no lower than its holder accrued of it, when the old claim was never released', async () => {
        const oldEpic = randomEpicId();
        const holder = await linkedUser(5, oldEpic);
        expect((await call('POST', `/v1/users/${holder}/kills`, { lifetimeKills: 25 })).status).toBe(202);
        expect((await call('PUT', `/v1/users/${holder}/epic-account`, { epicAccountId: randomEpicId(), lifetimeKills: 6 })).status).toBe(200);
        // A process killed between the new link's append and the release: the old claim stays, and
        // no mark of the old account was left with it.
        await app.pool.query(sql.unsafe`DELETE FROM epic_account_marks WHERE epic_account_id = ${oldEpic}`);
        await leaveClaim(oldEpic, holder, '1 hour');
        const other = await newUser();

        const linked = await call('PUT', `/v1/users/${other}/epic-account`, { epicAccountId: oldEpic, lifetimeKills: 5 });
        expect(linked).toMatchObject({ status: 200, body: { baselineKills: 25 } });
        expect(await claimHolder(oldEpic)).toBe(other);
      });

      it('never frees an id its holder links, however old the claim', async () => {
        const epicAccountId = randomEpicId();
        const holder = await linkedUser(5, epicAccountId);
        await ageClaim(epicAccountId, '30 days');

        await expectRefused('PUT', `/v1/users/${await newUser()}/epic-account`, { epicAccountId, lifetimeKills: 5 }, 409, 'epic_account_already_linked');
        expect(await claimHolder(epicAccountId)).toBe(holder);
      });

      it('tells a claim made from one the user held already, which a failed link must not release', async () => {
        const epicAccountId = randomEpicId();
        const userId = await newUser();

        expect(await claimEpicAccount(app.pool, app.store, epicAccountId, userId)).toBe('claimed');
        expect(await claimEpicAccount(app.pool, app.store, epicAccountId, userId)).toBe('held');
        expect(await claimEpicAccount(app.pool, app.store, epicAccountId, await newUser())).toBe('taken');
      });
    });

    it('linking the same id again decides nothing, even without lifetimeKills', async () => {
      const epicAccountId = randomEpicId();
      const userId = await linkedUser(7, epicAccountId);
      const before = await eventCount();
      const again = await call('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId });
      expect(again.body).toMatchObject({ epicAccountId, baselineKills: 7 });
      expect(await eventCount()).toBe(before);
    });
  });

  describe('wallet refusals append nothing', () => {
    it.each([
      ['a missing address', {}, 'address_required'],
      ['a bad checksum', { address: 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhnx' }, 'invalid_banano_address'],
      ['a nano_ address', { address: 'nano_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9' }, 'invalid_banano_address'],
      ['a number', { address: 7 }, 'invalid_banano_address'],
      ['a short address', { address: 'ban_1abc' }, 'invalid_banano_address'],
    ])('%s: 422 %s', async (_case, body, code) => {
      await expectRefused('PUT', `/v1/users/${await newUser()}/wallet`, body, 422, code);
    });

    it('a wallet for an unregistered user: 404 user_not_found', async () => {
      const { address } = await wallet('4');
      await expectRefused('PUT', `/v1/users/${userIdFromDiscordId('499999999999999998')}/wallet`, { address }, 404, 'user_not_found');
    });

    it('wallet verification refusals: bad signature, wrong message, malformed signature, unlinked wallet', async () => {
      const userId = await newUser();
      const { address, sign } = await wallet('5');
      const other = await wallet('6');
      const message = `link ${userId}`;
      await call('PUT', `/v1/users/${userId}/wallet`, { address });
      const path = `/v1/users/${userId}/wallet/verify`;

      await expectRefused('POST', path, { address, message, signature: await other.sign(message) }, 422, 'invalid_wallet_signature');
      await expectRefused('POST', path, { address, message: 'no user id here', signature: await sign('no user id here') }, 422, 'invalid_wallet_message');
      await expectRefused('POST', path, { address, message, signature: 'not-hex' }, 422, 'invalid_wallet_signature');
      await expectRefused('POST', path, { address, message, signature: 'a'.repeat(129) }, 422, 'invalid_wallet_signature');
      await expectRefused('POST', path, { address: other.address, message, signature: await other.sign(message) }, 422, 'wallet_not_linked');
      await expectRefused('POST', path, { address, message: '', signature: await sign('') }, 422, 'invalid_wallet_message');
      await expectRefused('POST', path, { address, signature: await sign(message) }, 422, 'message_required');
    });

    it('a signature forged without a key, for an address whose key has small order: 422 invalid_wallet_signature', async () => {
      // The address of the identity point has a valid checksum, and no one holds its key: the
      // signature R = identity, S = 0 verifies for it over any message with bananojs alone.
      const userId = await newUser();
      const address = 'ban_11a11111111111111111111111111111111111111111111111116iq5p4i8';
      expect((await call('PUT', `/v1/users/${userId}/wallet`, { address })).status).toBe(200);
      const forged = { address, message: `Pay2Slay: ${userId} owns this wallet`, signature: `01${'00'.repeat(63)}` };
      await expectRefused('POST', `/v1/users/${userId}/wallet/verify`, forged, 422, 'invalid_wallet_signature');
    });
  });

  describe('kill observation refusals append nothing', () => {
    const future = (): string => new Date(Date.now() + 120_000).toISOString();

    it.each([
      ['a missing lifetimeKills', {}, 'lifetime_kills_required'],
      ['a negative lifetimeKills', { lifetimeKills: -5 }, 'invalid_lifetime_kills'],
      ['a fractional lifetimeKills', { lifetimeKills: 120.5 }, 'invalid_lifetime_kills'],
      ['a lifetimeKills above the bound', { lifetimeKills: 10_000_001 }, 'invalid_lifetime_kills'],
      ['a lifetimeKills string', { lifetimeKills: '120' }, 'invalid_lifetime_kills'],
      ['an observedAt that is not a time', { lifetimeKills: 120, observedAt: 'yesterday' }, 'invalid_observed_at'],
      // ISO-8601 forms that Date cannot hold: each was a 500 once.
      ['an observedAt that is a week date', { lifetimeKills: 120, observedAt: '2026-W49-7' }, 'invalid_observed_at'],
      ['an observedAt that is an ordinal date', { lifetimeKills: 120, observedAt: '2026-340' }, 'invalid_observed_at'],
      ['an observedAt in the basic format', { lifetimeKills: 120, observedAt: '20261206T040000Z' }, 'invalid_observed_at'],
      // Forms Date reads, but not as one instant: a day, or the server's own clock.
      ['an observedAt that is a date alone', { lifetimeKills: 120, observedAt: '2026-12-06' }, 'invalid_observed_at'],
      ['an observedAt without a zone', { lifetimeKills: 120, observedAt: '2026-12-06T04:00:00' }, 'invalid_observed_at'],
      ['an observedAt before the Unix epoch, which would accrue in a negative minute', { lifetimeKills: 120, observedAt: '1969-12-31T23:59:00Z' }, 'invalid_observed_at'],
      ['an observedAt more than 60 s ahead', { lifetimeKills: 120, observedAt: 'FUTURE' }, 'observed_at_in_future'],
    ])('%s: 422 %s', async (_case, body, code) => {
      const userId = await linkedUser(100);
      const payload = 'observedAt' in body && body.observedAt === 'FUTURE' ? { ...body, observedAt: future() } : body;
      await expectRefused('POST', `/v1/users/${userId}/kills`, payload, 422, code);
    });

    it.each([['120'], ['abc'], [true], [[120]]])('a lifetimeKills of %j is refused as not an integer, not as out of bounds', async (lifetimeKills) => {
      const userId = await linkedUser(100);
      const response = await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills });
      expect({ status: response.status, code: response.body.code, detail: response.body.detail }).toEqual({
        status: 422,
        code: 'invalid_lifetime_kills',
        detail: 'lifetimeKills must be an integer',
      });
    });

    it('an observation earlier than the previous one: 422 observed_at_before_previous', async () => {
      const userId = await linkedUser(100);
      await call('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 101 });
      await expectRefused('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 102, observedAt: '2020-01-01T00:00:00Z' }, 422, 'observed_at_before_previous');
    });

    it('kills before any Epic link: 422 epic_account_not_linked', async () => {
      await expectRefused('POST', `/v1/users/${await newUser()}/kills`, { lifetimeKills: 1 }, 422, 'epic_account_not_linked');
    });

    it('kills of an unregistered user: 404 user_not_found; of a malformed id: 422 invalid_user_id', async () => {
      await expectRefused('POST', `/v1/users/${userIdFromDiscordId('499999999999999997')}/kills`, { lifetimeKills: 1 }, 404, 'user_not_found');
      await expectRefused('POST', '/v1/users/not-a-uuid/kills', { lifetimeKills: 1 }, 422, 'invalid_user_id');
    });
  });

  describe('batch observations', () => {
    it.each([
      ['no observations field', {}, 'observations_required'],
      ['observations that are not an array', { observations: 'x' }, 'invalid_observations'],
      ['an empty batch', { observations: [] }, 'invalid_observations'],
      ['an item without userId', { observations: [{ lifetimeKills: 1 }] }, 'user_id_required'],
      ['an item with a bad lifetimeKills', { observations: [{ userId: userIdFromDiscordId('1'), lifetimeKills: -1 }] }, 'invalid_lifetime_kills'],
      ['an item with a week-date observedAt', { observations: [{ userId: userIdFromDiscordId('1'), lifetimeKills: 1, observedAt: '2026-W49-7' }] }, 'invalid_observed_at'],
      ['an item with an observedAt without a zone', { observations: [{ userId: userIdFromDiscordId('1'), lifetimeKills: 1, observedAt: '2026-12-06T04:00:00' }] }, 'invalid_observed_at'],
    ])('refuses %s whole: 422 %s', async (_case, body, code) => {
      await expectRefused('POST', '/v1/kills/batch', body, 422, code);
    });

    it('refuses more than 1,000 observations: 422 batch_too_large', async () => {
      const userId = await linkedUser(0);
      const observations = Array.from({ length: 1_001 }, () => ({ userId, lifetimeKills: 1 }));
      await expectRefused('POST', '/v1/kills/batch', { observations }, 422, 'batch_too_large');
    });

    it('records 1,000 observations of many users and reports each in order', async () => {
      const users = await Promise.all(Array.from({ length: 20 }, () => linkedUser(0)));
      const observations = Array.from({ length: 1_000 }, (_, n) => ({ userId: users[n % 20], lifetimeKills: 1 + Math.floor(n / 20) }));
      const response = await call('POST', '/v1/kills/batch', { observations });
      const results = response.body.results as Array<{ index: number; userId: string; status: string }>;
      expect(response.status).toBe(200);
      expect(results).toHaveLength(1_000);
      expect(results.every((result, n) => result.index === n && result.userId === users[n % 20] && result.status === 'recorded')).toBe(true);
    });

    it('reports a rule-breaking item in its own result and records the others', async () => {
      const userId = await linkedUser(0);
      const unknown = userIdFromDiscordId('499999999999999996');
      const response = await call('POST', '/v1/kills/batch', {
        observations: [
          { userId, lifetimeKills: 3 },
          { userId: unknown, lifetimeKills: 3 },
          { userId, lifetimeKills: 4, observedAt: '2020-01-01T00:00:00Z' },
        ],
      });
      expect(response.body.results).toMatchObject([
        { index: 0, status: 'recorded', accrual: { kills: 3 } },
        { index: 1, status: 'rejected', error: { status: 404, code: 'user_not_found' } },
        { index: 2, status: 'rejected', error: { status: 422, code: 'observed_at_before_previous' } },
      ]);
    });
  });

  describe('query refusals', () => {
    it.each([
      ['limit 0', '?limit=0', 'invalid_limit'],
      ['limit 101', '?limit=101', 'invalid_limit'],
      ['a limit that is not a number', '?limit=ten', 'invalid_limit'],
      ['a forged cursor', '?cursor=bm90LWEtY3Vyc29y', 'invalid_cursor'],
      ['a cursor that is not base64 JSON', '?cursor=%%%', 'invalid_cursor'],
    ])('accruals with %s: 422 %s', async (_case, query, code) => {
      const response = await call('GET', `/v1/users/${await newUser()}/accruals${query}`);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 422, code });
    });

    it('accruals and history of an unregistered user: 404 user_not_found', async () => {
      const userId = userIdFromDiscordId('499999999999999995');
      expect((await call('GET', `/v1/users/${userId}/accruals`)).body.code).toBe('user_not_found');
      expect((await call('GET', `/v1/users/${userId}/history`)).body.code).toBe('user_not_found');
      // A cursor of its own list does not make an unknown user's history an empty page.
      const own = encodeCursor(`history:${userId}`, { r: '0' });
      expect(await call('GET', `/v1/users/${userId}/history?cursor=${own}`)).toMatchObject({ status: 404, body: { code: 'user_not_found' } });
    });

    it('refuses a cursor of another list with 422 invalid_cursor: another user, another route', async () => {
      const [one, other] = [await linkedUser(1), await linkedUser(1)];
      await synced(app);
      const cursors = {
        history: (await call('GET', `/v1/users/${one}/history?limit=1`)).body.nextCursor as string,
        accruals: encodeCursor(`accruals:${one}`, { m: '99999999' }),
      };
      const refused = [
        `/v1/users/${other}/history?cursor=${cursors.history}`,
        `/v1/users/${other}/accruals?cursor=${cursors.accruals}`,
        `/v1/users/${one}/accruals?cursor=${cursors.history}`,
        `/v1/users/${one}/payouts?cursor=${cursors.accruals}`,
      ];
      for (const path of refused) expect([path, (await call('GET', path)).body.code]).toEqual([path, 'invalid_cursor']);
      // On their own list they page on.
      expect((await call('GET', `/v1/users/${one}/history?cursor=${cursors.history}`)).status).toBe(200);
      expect((await call('GET', `/v1/users/${one}/accruals?cursor=${cursors.accruals}`)).status).toBe(200);
    });

    it('pages the history by revision', async () => {
      const userId = await linkedUser(1);
      const first = await call('GET', `/v1/users/${userId}/history?limit=2`);
      const rest = await call('GET', `/v1/users/${userId}/history?cursor=${first.body.nextCursor as string}`);
      expect((first.body.items as Array<{ revision: number }>).map((item) => item.revision)).toEqual([0, 1]);
      expect((rest.body.items as Array<{ revision: number; type: string }>).map((item) => [item.revision, item.type])).toEqual([[2, 'VerificationRecorded']]);
      expect(rest.body.nextCursor).toBeNull();
    });

    it('answers a history cursor at the largest revision a cursor can name with an empty page, not a 5xx', async () => {
      const userId = await linkedUser(1);
      const cursor = encodeCursor(`history:${userId}`, { r: (2n ** 63n - 1n).toString() });
      const page = await call('GET', `/v1/users/${userId}/history?cursor=${cursor}`);
      expect({ status: page.status, body: page.body }).toEqual({ status: 200, body: { items: [], nextCursor: null } });
    });
  });
});
