import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DatabasePool, sql } from 'slonik';
import { buildProgram } from '../src/cli.main';
import { accountFromSeed } from '../src/payouts/banano/state-block';
import { FileOperatorSeedSource, OperatorSeedUnreadableError } from '../src/payouts/operator/operator-seed';
import { loadConfig } from '../src/platform/config/config';
import { type CommandMetadata } from '../src/platform/decider';
import { createDatabasePool } from '../src/platform/database/database';
import { DomainError } from '../src/platform/errors/domain-error';
import { type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { MasterKey } from '../src/security/secure-config/master-key';
import { formatRotation, rotateSecureConfig, rotationKeys } from '../src/security/secure-config/rotate-master-key';
import { decodeSecureConfigEvent, SECURE_CONFIG_STREAM } from '../src/security/secure-config/secure-config.events';
import { associatedDataOf, SecureConfigStore } from '../src/security/secure-config/secure-config.store';
import { OPERATOR_SEED_ENTRY, operatorSeedStatus, StoredOperatorSeedSource, storeOperatorSeed } from '../src/security/secure-config/stored-operator-seed';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './support/processes';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { UUID_V7 } from './support/uuid-v7';

const ADMIN: CommandMetadata = { correlationId: 'request-1', causationId: null, actor: { kind: 'admin', name: 'ops-key' }, clientIp: '127.0.0.1' };

const newKey = (): { key: MasterKey; base64: string } => {
  const base64 = randomBytes(32).toString('base64');
  return { key: MasterKey.fromBase64(base64, 'test'), base64 };
};

const newSeed = async (): Promise<{ seed: string; address: string }> => {
  const seed = randomBytes(32).toString('hex').toUpperCase();
  return { seed, address: (await accountFromSeed(seed, 0)).address };
};

/**
 * The secure_config table on real PostgreSQL (SPEC §4.6): the operator seed stored only as
 * AES-256-GCM output, read back by the seed source payouts use, rotated under a new master key in
 * one transaction, and every change recorded as SecureConfigChanged, never with the value.
 */
describe('secure_config on PostgreSQL', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let events: PostgresEventStore;
  let store: SecureConfigStore;

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    events = new PostgresEventStore(database.url);
    store = new SecureConfigStore(pool, events);
  });

  afterEach(async () => {
    await events.close();
    await pool.end();
    await database.drop();
  });

  const sourceWith = (key: MasterKey | null, fallback: FileOperatorSeedSource | null = null): StoredOperatorSeedSource =>
    new StoredOperatorSeedSource(store, () => Promise.resolve(key), fallback);

  const streamEvents = (): Promise<RecordedEvent[]> => events.readStream(SECURE_CONFIG_STREAM);

  /** Every byte the database holds about secure_config: the rows, the outbox and the events, raw and as text. */
  async function everythingStored(): Promise<Buffer[]> {
    const rows = await pool.any(sql.unsafe`SELECT name, ciphertext, auth_tag, nonce, key_id, address, updated_at::text FROM secure_config`);
    const asText = await pool.anyFirst(sql.unsafe`
      SELECT t::text FROM secure_config t
      UNION ALL SELECT o::text FROM secure_config_outbox o
      UNION ALL SELECT e::text FROM events e`);
    return [
      ...rows.flatMap((row) => Object.values(row).map((value) => (Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')))),
      ...asText.map((text) => Buffer.from(String(text), 'utf8')),
    ];
  }

  async function expectNoTraceOf(seed: string): Promise<void> {
    const stored = await everythingStored();
    expect(stored.length).toBeGreaterThan(0);
    for (const bytes of stored) {
      expect(bytes.includes(Buffer.from(seed, 'hex'))).toBe(false);
      expect(bytes.includes(Buffer.from(seed.toUpperCase(), 'utf8'))).toBe(false);
      expect(bytes.includes(Buffer.from(seed.toLowerCase(), 'utf8'))).toBe(false);
    }
  }

  async function refusal(work: Promise<unknown>): Promise<Error> {
    const error = await work.then(
      () => null,
      (caught: unknown) => caught,
    );
    if (!(error instanceof Error)) throw new Error('expected a refusal');
    return error;
  }

  describe('storing the operator seed', () => {
    it('keeps only ciphertext, tag, nonce, key id and address: the seed is in no row, outbox or event, upper or lower case', async () => {
      const { key } = newKey();
      const { seed, address } = await newSeed();

      const result = await storeOperatorSeed({ store, key, seed: seed.toLowerCase(), metadata: ADMIN, now: new Date('2025-03-01T12:00:00Z') });

      expect(result).toEqual({ changed: true, address, eventsPending: null });
      const row = await pool.one(sql.unsafe`SELECT name, key_id, address, octet_length(ciphertext) AS length, octet_length(nonce) AS nonce, octet_length(auth_tag) AS tag FROM secure_config`);
      expect(row).toEqual({ name: OPERATOR_SEED_ENTRY, key_id: key.keyId, address, length: 32, nonce: 12, tag: 16 });
      await expectNoTraceOf(seed);
      expect(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM secure_config_outbox`)).toBe(0);
    });

    it('gives the stored seed to the seed source payouts use, and its address and key id (not the seed) to the status', async () => {
      const { key } = newKey();
      const { seed, address } = await newSeed();
      expect(await operatorSeedStatus(store, null)).toEqual({ configured: false, address: null, keyId: null });
      expect(await sourceWith(key).operatorSeed()).toBeNull();

      await storeOperatorSeed({ store, key, seed, metadata: ADMIN, now: new Date() });

      expect(await sourceWith(key).operatorSeed()).toBe(seed);
      const status = await operatorSeedStatus(store, null);
      expect(status).toEqual({ configured: true, address, keyId: key.keyId });
      expect(JSON.stringify(status).toUpperCase()).not.toContain(seed);
    });

    it('records SecureConfigChanged set with the admin, the request id and the client IP, and never the seed', async () => {
      const { key } = newKey();
      const { seed, address } = await newSeed();

      await storeOperatorSeed({ store, key, seed, metadata: ADMIN, now: new Date('2025-03-01T12:00:00Z') });

      const [recorded, ...others] = await streamEvents();
      expect(others).toEqual([]);
      expect(decodeSecureConfigEvent(recorded.type, recorded.data)).toEqual({
        type: 'SecureConfigChanged',
        data: { name: OPERATOR_SEED_ENTRY, keyId: key.keyId, address, action: 'set', changedAt: '2025-03-01T12:00:00.000Z' },
      });
      expect(recorded.data).toEqual({ name: OPERATOR_SEED_ENTRY, keyId: key.keyId, address, action: 'set', changedAt: '2025-03-01T12:00:00.000Z' });
      expect(recorded.metadata).toEqual({ ...ADMIN, schemaVersion: 1 });
      // Its id was made when the change was stored, for the outbox: a time-ordered one (newEventId).
      expect(recorded.id).toMatch(UUID_V7);
      expect(JSON.stringify([recorded.data, recorded.metadata]).toUpperCase()).not.toContain(seed);
    });

    it('records nothing for the seed already stored, and set again for a new seed or a new master key', async () => {
      const first = newKey();
      const second = newKey();
      const one = await newSeed();
      const two = await newSeed();

      const results = [
        await storeOperatorSeed({ store, key: first.key, seed: one.seed, metadata: ADMIN, now: new Date() }),
        await storeOperatorSeed({ store, key: first.key, seed: one.seed.toLowerCase(), metadata: ADMIN, now: new Date() }),
        await storeOperatorSeed({ store, key: first.key, seed: two.seed, metadata: ADMIN, now: new Date() }),
        await storeOperatorSeed({ store, key: second.key, seed: two.seed, metadata: ADMIN, now: new Date() }),
      ];

      expect(results.map((result) => result.changed)).toEqual([true, false, true, true]);
      expect((await streamEvents()).map((event) => [event.data.address, event.data.keyId])).toEqual([
        [one.address, first.key.keyId],
        [two.address, first.key.keyId],
        [two.address, second.key.keyId],
      ]);
      expect(await sourceWith(second.key).operatorSeed()).toBe(two.seed);
    });

    it('refuses to store anything without a master key (503 master_key_not_configured), or a value that is not a seed', async () => {
      const { seed } = await newSeed();

      const withoutKey = await refusal(storeOperatorSeed({ store, key: null, seed, metadata: ADMIN, now: new Date() }));
      const notASeed = await refusal(storeOperatorSeed({ store, key: newKey().key, seed: seed.slice(1), metadata: ADMIN, now: new Date() }));

      expect(withoutKey).toBeInstanceOf(DomainError);
      expect(withoutKey).toMatchObject({ code: 'master_key_not_configured', status: 503 });
      expect(notASeed).toMatchObject({ code: 'invalid_seed', status: 422 });
      expect(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM secure_config`)).toBe(0);
      expect(await streamEvents()).toEqual([]);
    });
  });

  describe('a stored seed that cannot be used is never used', () => {
    async function storedSeed(): Promise<{ key: MasterKey; seed: string; address: string }> {
      const { key } = newKey();
      const { seed, address } = await newSeed();
      await storeOperatorSeed({ store, key, seed, metadata: ADMIN, now: new Date() });
      return { key, seed, address };
    }

    it.each([
      ['a flipped ciphertext byte', sql.unsafe`UPDATE secure_config SET ciphertext = set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1)`],
      ['a flipped tag byte', sql.unsafe`UPDATE secure_config SET auth_tag = set_byte(auth_tag, 0, get_byte(auth_tag, 0) # 1)`],
      ['a flipped nonce byte', sql.unsafe`UPDATE secure_config SET nonce = set_byte(nonce, 11, get_byte(nonce, 11) # 1)`],
      ['another address beside it', sql.unsafe`UPDATE secure_config SET address = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9'`],
    ])('refuses an entry with %s: the seed source throws operator_seed_unreadable, quoting no seed', async (_case, tamper) => {
      const { key, seed } = await storedSeed();
      await pool.query(tamper);

      const error = await refusal(sourceWith(key).operatorSeed());

      expect(error).toBeInstanceOf(OperatorSeedUnreadableError);
      expect(error.message).toMatch(/^The operator seed in secure_config cannot be decrypted: The secure_config entry operator_seed does not decrypt under master key [0-9a-f]{16}/);
      expect(error.message.toUpperCase()).not.toContain(seed);
    });

    it('refuses an entry renamed to operator_seed: the name is authenticated with the value', async () => {
      const { key } = newKey();
      const { seed, address } = await newSeed();
      await store.put({ name: 'spare_seed', plaintext: Buffer.from(seed, 'hex'), address, key, metadata: ADMIN, now: new Date() });
      await pool.query(sql.unsafe`UPDATE secure_config SET name = 'operator_seed' WHERE name = 'spare_seed'`);

      const error = await refusal(sourceWith(key).operatorSeed());

      expect(error).toBeInstanceOf(OperatorSeedUnreadableError);
      expect(error.message).toContain('does not decrypt under master key');
      // The value itself was fine: under its own name it opens.
      const sealed = (await store.entry(OPERATOR_SEED_ENTRY))?.sealed;
      expect(sealed === undefined ? null : key.open(sealed, associatedDataOf('spare_seed', address), 'spare').toString('hex').toUpperCase()).toBe(seed);
    });

    it('refuses a seed that does not derive the address stored beside it, even one sealed under the right key', async () => {
      const { key } = newKey();
      const { seed } = await newSeed();
      const elsewhere = await newSeed();
      await store.put({ name: OPERATOR_SEED_ENTRY, plaintext: Buffer.from(seed, 'hex'), address: elsewhere.address, key, metadata: ADMIN, now: new Date() });

      const error = await refusal(sourceWith(key).operatorSeed());

      expect(error).toBeInstanceOf(OperatorSeedUnreadableError);
      expect(error.message).toBe('The operator seed in secure_config does not derive the address stored beside it');
    });

    it('refuses without a master key or under another one, naming key ids only, and never falls back to the seed file', async () => {
      const { seed } = await storedSeed();
      const other = newKey();
      const directory = await mkdtemp(join(tmpdir(), 'ledger-seed-'));
      try {
        const file = join(directory, 'operator.seed');
        await writeFile(file, (await newSeed()).seed, { mode: 0o600 });

        const withoutKey = await refusal(sourceWith(null, new FileOperatorSeedSource(file)).operatorSeed());
        const otherKey = await refusal(sourceWith(other.key, new FileOperatorSeedSource(file)).operatorSeed());

        expect(withoutKey.message).toBe('secure_config holds an operator seed, but LEDGER_MASTER_KEY is not set to decrypt it');
        expect(otherKey.message).toMatch(/^The operator seed in secure_config is encrypted under master key [0-9a-f]{16}, but this process holds key [0-9a-f]{16}/);
        for (const error of [withoutKey, otherKey]) {
          expect(error).toBeInstanceOf(OperatorSeedUnreadableError);
          expect(error.message.toUpperCase()).not.toContain(seed);
          expect(error.message).not.toContain(other.base64);
        }
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  });

  describe('the seed file', () => {
    it('is read only while secure_config holds no seed, and the status says so with a null key id', async () => {
      const { key } = newKey();
      const inFile = await newSeed();
      const stored = await newSeed();
      const directory = await mkdtemp(join(tmpdir(), 'ledger-seed-'));
      try {
        const file = new FileOperatorSeedSource(join(directory, 'operator.seed'));
        await writeFile(join(directory, 'operator.seed'), `${inFile.seed}\n`, { mode: 0o600 });

        const before = { seed: await sourceWith(key, file).operatorSeed(), status: await operatorSeedStatus(store, file) };
        await storeOperatorSeed({ store, key, seed: stored.seed, metadata: ADMIN, now: new Date() });
        const after = { seed: await sourceWith(key, file).operatorSeed(), status: await operatorSeedStatus(store, file) };

        expect(before).toEqual({ seed: inFile.seed, status: { configured: true, address: inFile.address, keyId: null } });
        expect(after).toEqual({ seed: stored.seed, status: { configured: true, address: stored.address, keyId: key.keyId } });
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  });

  describe('rotation', () => {
    it('re-encrypts every entry under the new key in one go: the new key opens them, the old one no longer does', async () => {
      const old = newKey();
      const next = newKey();
      const { seed, address } = await newSeed();
      const spare = randomBytes(32);
      await storeOperatorSeed({ store, key: old.key, seed, metadata: ADMIN, now: new Date() });
      await store.put({ name: 'spare_secret', plaintext: spare, address: null, key: old.key, metadata: ADMIN, now: new Date() });
      const before = await store.entry(OPERATOR_SEED_ENTRY);

      const result = await rotateSecureConfig(store, { oldKey: old.key, newKey: next.key }, new Date('2025-04-01T00:00:00Z'));

      expect(result).toEqual({ previousKeyId: old.key.keyId, keyId: next.key.keyId, rotated: [OPERATOR_SEED_ENTRY, 'spare_secret'], alreadyRotated: [], eventsPending: null });
      const after = await store.entry(OPERATOR_SEED_ENTRY);
      expect(after?.sealed.keyId).toBe(next.key.keyId);
      expect(after?.sealed.nonce.equals(before?.sealed.nonce ?? Buffer.alloc(0))).toBe(false);
      expect(await sourceWith(next.key).operatorSeed()).toBe(seed);
      expect((await store.reveal('spare_secret', next.key))?.equals(spare)).toBe(true);
      await expect(sourceWith(old.key).operatorSeed()).rejects.toThrow(OperatorSeedUnreadableError);
      // Even told the new key id, the old key opens nothing.
      const sealed = after?.sealed;
      expect(() => sealed !== undefined && old.key.open({ ...sealed, keyId: old.key.keyId }, associatedDataOf(OPERATOR_SEED_ENTRY, address), 'x')).toThrow(
        'does not decrypt',
      );
      expect(await operatorSeedStatus(store, null)).toEqual({ configured: true, address, keyId: next.key.keyId });
      await expectNoTraceOf(seed);
    });

    it('with the event store down after the commit, reports the change made and its events pending, which the next pass appends', async () => {
      const old = newKey();
      const next = newKey();
      const { seed, address } = await newSeed();
      // The same database, but an event store that cannot be reached: the commit succeeds, the append cannot.
      const unreachable = new PostgresEventStore('postgres://postgres@127.0.0.1:9/nowhere');
      const cut = new SecureConfigStore(pool, unreachable);
      try {
        const stored = await storeOperatorSeed({ store: cut, key: old.key, seed, metadata: ADMIN, now: new Date() });
        const rotated = await rotateSecureConfig(cut, { oldKey: old.key, newKey: next.key });

        expect(stored).toMatchObject({ changed: true, address, eventsPending: expect.stringContaining('unavailable') });
        expect(rotated).toMatchObject({ rotated: [OPERATOR_SEED_ENTRY], eventsPending: expect.stringContaining('unavailable') });
        expect(formatRotation(rotated, { oldKeyFrom: 'LEDGER_MASTER_KEY', newKeyFrom: 'new.key' })).toContain('The rotation is committed, but the event store could not take');
        expect(await sourceWith(next.key).operatorSeed()).toBe(seed);
      } finally {
        await unreachable.close();
      }
      expect(await streamEvents()).toEqual([]);
      expect(await store.appendPendingEvents()).toBe(2);
      expect((await streamEvents()).map((event) => event.data.action)).toEqual(['set', 'rotated']);
    });

    it('when the connection fails as it commits, says the outcome is not known and which key id tells, never plain failure', async () => {
      const old = newKey();
      const next = newKey();
      const { seed } = await newSeed();
      await storeOperatorSeed({ store, key: old.key, seed, metadata: ADMIN, now: new Date() });
      // The server commits, and the answer to COMMIT never arrives: the client sees a dropped connection.
      const droppedAtCommit = new Proxy(pool, {
        get(target, property, receiver) {
          if (property !== 'transaction') return Reflect.get(target, property, receiver) as unknown;
          return async (work: Parameters<DatabasePool['transaction']>[0]) => {
            await target.transaction(work);
            throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
          };
        },
      });

      const refused = await refusal(rotateSecureConfig(new SecureConfigStore(droppedAtCommit, events), { oldKey: old.key, newKey: next.key }));

      expect(refused).toMatchObject({ code: 'rotation_outcome_unknown' });
      expect(refused.message).toContain(`keyId ${next.key.keyId}`);
      expect(refused.message).toContain(`keyId ${old.key.keyId}`);
      expect(refused.message).toContain('keep both keys');
      // It had committed: only the new key opens the seed, as the message warns it may.
      expect(await sourceWith(next.key).operatorSeed()).toBe(seed);
    });

    it('records SecureConfigChanged rotated for each entry, by the admin cli, without the value', async () => {
      const old = newKey();
      const next = newKey();
      const { seed, address } = await newSeed();
      await storeOperatorSeed({ store, key: old.key, seed, metadata: ADMIN, now: new Date() });

      await rotateSecureConfig(store, { oldKey: old.key, newKey: next.key }, new Date('2025-04-01T00:00:00Z'));

      const [, rotated, ...others] = await streamEvents();
      expect(others).toEqual([]);
      expect(rotated.type).toBe('SecureConfigChanged');
      expect(rotated.data).toEqual({ name: OPERATOR_SEED_ENTRY, keyId: next.key.keyId, address, action: 'rotated', changedAt: '2025-04-01T00:00:00.000Z' });
      expect(rotated.metadata).toEqual({ correlationId: expect.any(String), causationId: null, actor: { kind: 'admin', name: 'cli' }, schemaVersion: 1 });
      expect(JSON.stringify([rotated.data, rotated.metadata]).toUpperCase()).not.toContain(seed);
    });

    it('refuses a wrong old key, an entry that no longer decrypts, or the same key twice, changing nothing and recording nothing', async () => {
      const old = newKey();
      const next = newKey();
      const { seed } = await newSeed();
      await storeOperatorSeed({ store, key: old.key, seed, metadata: ADMIN, now: new Date() });
      await store.put({ name: 'spare_secret', plaintext: randomBytes(32), address: null, key: old.key, metadata: ADMIN, now: new Date() });
      const snapshot = async (): Promise<unknown> => pool.any(sql.unsafe`SELECT name, encode(ciphertext, 'hex') AS c, encode(auth_tag, 'hex') AS t, encode(nonce, 'hex') AS n, key_id FROM secure_config ORDER BY name`);
      const before = await snapshot();

      const wrongOldKey = await refusal(rotateSecureConfig(store, { oldKey: newKey().key, newKey: next.key }));
      const sameKey = await refusal(rotateSecureConfig(store, { oldKey: old.key, newKey: old.key }));
      // The second entry is altered: the first would rotate, but the whole rotation is refused.
      await pool.query(sql.unsafe`UPDATE secure_config SET auth_tag = set_byte(auth_tag, 0, get_byte(auth_tag, 0) # 1) WHERE name = 'spare_secret'`);
      const tampered = await snapshot();
      const altered = await refusal(rotateSecureConfig(store, { oldKey: old.key, newKey: next.key }));

      expect(wrongOldKey).toMatchObject({ code: 'master_key_mismatch' });
      expect(wrongOldKey.message).toMatch(/^The secure_config entry operator_seed is encrypted under master key [0-9a-f]{16}, not under the old key given \([0-9a-f]{16}\); nothing was rotated$/);
      expect(sameKey).toMatchObject({ code: 'master_key_unchanged' });
      expect(altered).toMatchObject({ code: 'secure_config_undecryptable' });
      expect(altered.message).toMatch(/^The secure_config entry spare_secret does not decrypt under master key/);
      expect(tampered).not.toEqual(before);
      expect(await snapshot()).toEqual(tampered);
      expect((await streamEvents()).map((event) => event.data.action)).toEqual(['set', 'set']);
      expect(await sourceWith(old.key).operatorSeed()).toBe(seed);
    });

    it('run again after it committed, only checks the entries already under the new key', async () => {
      const old = newKey();
      const next = newKey();
      await storeOperatorSeed({ store, key: old.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });
      await rotateSecureConfig(store, { oldKey: old.key, newKey: next.key });

      const again = await rotateSecureConfig(store, { oldKey: old.key, newKey: next.key });

      expect(again).toMatchObject({ rotated: [], alreadyRotated: [OPERATOR_SEED_ENTRY] });
      expect((await streamEvents()).map((event) => event.data.action)).toEqual(['set', 'rotated']);
    });

    it('retires the old key: a process still on it cannot store a seed afterwards (409), so it cannot undo the rotation', async () => {
      const old = newKey();
      const next = newKey();
      await storeOperatorSeed({ store, key: old.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });
      await rotateSecureConfig(store, { oldKey: old.key, newKey: next.key });
      const { seed: later } = await newSeed();

      // An instance not yet restarted with the new key serves a PUT.
      const stale = await refusal(storeOperatorSeed({ store, key: old.key, seed: later, metadata: ADMIN, now: new Date() }));

      expect(stale).toMatchObject({ code: 'master_key_retired', status: 409 });
      expect(stale.message).toContain(old.key.keyId);
      expect(stale.message).not.toContain(later);
      expect((await store.entry(OPERATOR_SEED_ENTRY))?.sealed.keyId).toBe(next.key.keyId);
      expect((await streamEvents()).map((event) => event.data.action)).toEqual(['set', 'rotated']);
      // The current key stores it, and so does a key never used here: the way back from a lost key.
      await storeOperatorSeed({ store, key: next.key, seed: later, metadata: ADMIN, now: new Date() });
      const fresh = newKey();
      await storeOperatorSeed({ store, key: fresh.key, seed: later, metadata: ADMIN, now: new Date() });
      expect(await sourceWith(fresh.key).operatorSeed()).toBe(later);
      // Rotating back to a retired key brings it back, and retires the one rotated from.
      await rotateSecureConfig(store, { oldKey: fresh.key, newKey: old.key });
      await storeOperatorSeed({ store, key: old.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });
      expect(await refusal(storeOperatorSeed({ store, key: fresh.key, seed: later, metadata: ADMIN, now: new Date() }))).toMatchObject({ code: 'master_key_retired' });
    });

    it('retires the key of a seed a PUT under another key replaced: an instance still on it cannot seal the seed under it again', async () => {
      const lost = newKey();
      const fresh = newKey();
      await storeOperatorSeed({ store, key: lost.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });
      const { seed } = await newSeed();
      // The way back from a lost key: a new key, and the seed stored again under it.
      await storeOperatorSeed({ store, key: fresh.key, seed, metadata: ADMIN, now: new Date() });

      // An instance still running on the lost key serves a PUT.
      const stale = await refusal(storeOperatorSeed({ store, key: lost.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() }));

      expect(stale).toMatchObject({ code: 'master_key_retired', status: 409 });
      expect(await sourceWith(fresh.key).operatorSeed()).toBe(seed);
      // Storing again under the key in force retires nothing.
      await storeOperatorSeed({ store, key: fresh.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });
      await storeOperatorSeed({ store, key: fresh.key, seed, metadata: ADMIN, now: new Date() });
      expect(await sourceWith(fresh.key).operatorSeed()).toBe(seed);
    });

    it('on an empty table re-encrypts nothing, retires the old key all the same, and says both', async () => {
      const old = newKey();
      const next = newKey();
      const result = await rotateSecureConfig(store, { oldKey: old.key, newKey: next.key });
      expect(result).toMatchObject({ rotated: [], alreadyRotated: [] });
      expect(formatRotation(result, { oldKeyFrom: 'a', newKeyFrom: 'b' })).toBe(
        'secure_config holds no entries: there was nothing to re-encrypt.\n' +
          `Master key ${old.key.keyId} (a) is retired all the same, for ${next.key.keyId} (b): give every service and payout worker the new key ` +
          '(LEDGER_MASTER_KEY, or the data-directory master.key on the embedded defaults) and restart them. Until then they cannot store an operator seed.\n',
      );
      const seed = (await newSeed()).seed;
      expect(await refusal(storeOperatorSeed({ store, key: old.key, seed, metadata: ADMIN, now: new Date() }))).toMatchObject({ code: 'master_key_retired' });
      await storeOperatorSeed({ store, key: next.key, seed, metadata: ADMIN, now: new Date() });
    });

    it('takes its keys from files or the environment, never as arguments, and prints key ids and sources, never keys', async () => {
      const old = newKey();
      const next = newKey();
      const directory = await mkdtemp(join(tmpdir(), 'ledger-keys-'));
      try {
        const oldFile = join(directory, 'old.key');
        const newFile = join(directory, 'new.key');
        await writeFile(oldFile, `${old.base64}\n`, { mode: 0o600 });
        await writeFile(newFile, `${next.base64}\n`, { mode: 0o600 });
        const config = loadConfig({ DATABASE_URL: database.url, LEDGER_MASTER_KEY: old.base64 });
        await storeOperatorSeed({ store, key: old.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });

        const fromFiles = await rotationKeys({ oldKeyFile: oldFile, newKeyFile: newFile }, loadConfig({ DATABASE_URL: database.url }), {});
        const fromEnvironment = await rotationKeys({}, config, { LEDGER_NEW_MASTER_KEY: next.base64 });
        const missingNew = await refusal(rotationKeys({}, config, {}));
        const missingOld = await refusal(rotationKeys({ newKeyFile: newFile }, loadConfig({ DATABASE_URL: database.url }), {}));
        const invalidNew = await refusal(rotationKeys({}, config, { LEDGER_NEW_MASTER_KEY: 'not a key' }));
        const result = await rotateSecureConfig(store, fromEnvironment);
        const printed = formatRotation(result, fromEnvironment);

        expect([fromFiles.oldKey.keyId, fromFiles.newKey.keyId, fromFiles.oldKeyFrom, fromFiles.newKeyFrom]).toEqual([old.key.keyId, next.key.keyId, oldFile, newFile]);
        expect([fromEnvironment.oldKeyFrom, fromEnvironment.newKeyFrom]).toEqual(['LEDGER_MASTER_KEY', 'LEDGER_NEW_MASTER_KEY']);
        expect(missingNew).toMatchObject({ code: 'new_master_key_required' });
        expect(missingOld).toMatchObject({ code: 'old_master_key_required' });
        expect(invalidNew).toMatchObject({ code: 'invalid_master_key' });
        expect(invalidNew.message).not.toContain('not a key');
        expect(printed).toContain(`Re-encrypted 1 secure_config entry (operator_seed) from master key ${old.key.keyId} (LEDGER_MASTER_KEY) to ${next.key.keyId} (LEDGER_NEW_MASTER_KEY).`);
        expect(printed).not.toContain(old.base64);
        expect(printed).not.toContain(next.base64);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });

    it('given a key where a key file belongs, refuses without quoting it, in any of the forms a shell or env file gives', async () => {
      const old = newKey();
      const next = newKey();
      const config = loadConfig({ DATABASE_URL: database.url, LEDGER_MASTER_KEY: old.base64 });
      const keyLike = (base64: string): string[] => [base64, base64.replace(/=$/, ''), `${base64}\n`, `"${base64}"`, `'${base64}'`, ` ${base64} `];

      for (const given of keyLike(next.base64)) {
        const refused = await refusal(rotationKeys({ newKeyFile: given }, config, {}));
        expect([refused.message.includes(next.base64.slice(0, 40)), refused.message]).toEqual([false, expect.stringContaining('--new-key-file')]);
      }
      for (const given of keyLike(old.base64)) {
        const refused = await refusal(rotationKeys({ oldKeyFile: given }, config, { LEDGER_NEW_MASTER_KEY: next.base64 }));
        expect([refused.message.includes(old.base64.slice(0, 40)), refused.message]).toEqual([false, expect.stringContaining('--old-key-file')]);
      }
      // A path that cannot be read, and is no key, is still named: the operator must see which one.
      const missing = await refusal(rotationKeys({ newKeyFile: '/nonexistent/new.key' }, config, {}));
      expect(missing.message).toContain('/nonexistent/new.key');
    });
  });

  describe('crash safety', () => {
    /** A change committed with its outbox event by a process that then died before appending it. */
    async function committedButNotAppended(key: MasterKey, seed: string, address: string): Promise<string> {
      const eventId = randomUUID();
      const sealed = key.seal(Buffer.from(seed, 'hex'), associatedDataOf(OPERATOR_SEED_ENTRY, address));
      await pool.transaction(async (transaction) => {
        await transaction.query(sql.unsafe`
          INSERT INTO secure_config (name, ciphertext, auth_tag, nonce, key_id, address, updated_at)
          VALUES (${OPERATOR_SEED_ENTRY}, ${sql.binary(sealed.ciphertext)}, ${sql.binary(sealed.authTag)}, ${sql.binary(sealed.nonce)}, ${key.keyId}, ${address}, now())`);
        const data = JSON.stringify({ name: OPERATOR_SEED_ENTRY, keyId: key.keyId, address, action: 'set', changedAt: new Date().toISOString() });
        await transaction.query(sql.unsafe`
          INSERT INTO secure_config_outbox (event_id, event_type, data, metadata, created_at)
          VALUES (${eventId}, 'SecureConfigChanged', ${data}::jsonb, ${JSON.stringify({ ...ADMIN, schemaVersion: 1 })}::jsonb, now())`);
      });
      return eventId;
    }

    it('a change whose event was not appended before a crash is appended once, by the next pass, under the id it was given', async () => {
      const { key } = newKey();
      const { seed, address } = await newSeed();
      const eventId = await committedButNotAppended(key, seed, address);
      // The status and the payouts agree at once: both read the committed row.
      expect(await operatorSeedStatus(store, null)).toEqual({ configured: true, address, keyId: key.keyId });
      expect(await sourceWith(key).operatorSeed()).toBe(seed);
      expect(await streamEvents()).toEqual([]);

      expect(await store.appendPendingEvents()).toBe(1);
      expect(await store.appendPendingEvents()).toBe(0);

      expect((await streamEvents()).map((event) => event.id)).toEqual([eventId]);
      expect(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM secure_config_outbox`)).toBe(0);
    });

    it('an event appended just before a crash (its outbox row still there) is not appended twice', async () => {
      const { key } = newKey();
      const { seed, address } = await newSeed();
      const eventId = await committedButNotAppended(key, seed, address);
      const row = await pool.one(sql.unsafe`SELECT data, metadata FROM secure_config_outbox WHERE event_id = ${eventId}`);
      await events.appendToStream(SECURE_CONFIG_STREAM, [{ id: eventId, type: 'SecureConfigChanged', data: row.data as never, metadata: row.metadata as never }], {
        expectedRevision: 'no_stream',
      });

      // The next change appends the leftover first, then its own.
      await storeOperatorSeed({ store, key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });

      const recorded = await streamEvents();
      expect(recorded.map((event) => event.id)).toEqual([eventId, expect.any(String)]);
      expect(recorded[1].id).not.toBe(eventId);
      expect(await pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM secure_config_outbox`)).toBe(0);
    });

    it('concurrent changes are recorded in the order they were committed, each once', async () => {
      const { key } = newKey();
      const seeds = await Promise.all(Array.from({ length: 6 }, () => newSeed()));

      await Promise.all(seeds.map(({ seed }) => storeOperatorSeed({ store, key, seed, metadata: ADMIN, now: new Date() })));

      const recorded = await streamEvents();
      expect(recorded).toHaveLength(seeds.length);
      expect(new Set(recorded.map((event) => event.data.address))).toEqual(new Set(seeds.map((seed) => seed.address)));
      // The last event names the seed the table holds.
      expect((await operatorSeedStatus(store, null)).address).toBe(recorded.at(-1)?.data.address);
    });
  });
});

/**
 * `secure-config rotate` as an operator runs it (the built CLI), interrupted. Once its transaction
 * has committed, the new key is the only one that opens the seed: a command that then stopped on
 * Ctrl-C saying only "stopped" would let the operator think nothing changed, and throw that key away.
 */
describe('npm run cli -- secure-config rotate, interrupted', () => {
  let database: TestDatabase;
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    database = await createTestDatabase();
    // An event store that takes connections and never answers: the appends after the commit wait
    // for their timeout, the moment an operator is most likely to press Ctrl-C.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await database.drop();
  });

  it('after its commit, finishes on SIGINT and says what it did, with exit 0', async () => {
    const old = newKey();
    const next = newKey();
    const pool = await createDatabasePool(database.url);
    const events = new PostgresEventStore(database.url);
    try {
      await storeOperatorSeed({ store: new SecureConfigStore(pool, events), key: old.key, seed: (await newSeed()).seed, metadata: ADMIN, now: new Date() });
      const port = (silent.address() as { port: number }).port;
      const run = startBuiltEntry(
        'cli.main.js',
        childEnv({
          DATABASE_URL: database.url,
          EVENTSTORE_CONNECTION_STRING: `esdb://127.0.0.1:${port}?tls=false`,
          LEDGER_MASTER_KEY: old.base64,
          LEDGER_NEW_MASTER_KEY: next.base64,
        }),
        ['secure-config', 'rotate'],
      );
      const keyIdStored = (): Promise<unknown> => pool.oneFirst(sql.unsafe`SELECT key_id FROM secure_config WHERE name = ${OPERATOR_SEED_ENTRY}`);
      await eventually('the rotation to commit', async () => ((await keyIdStored()) === next.key.keyId ? true : undefined), 30_000);

      run.child.kill('SIGINT');
      const { code } = await waitForExit(run.child, 60_000);

      expect([code, run.output()]).toEqual([0, expect.stringContaining(`from master key ${old.key.keyId} (LEDGER_MASTER_KEY) to ${next.key.keyId}`)]);
      expect(run.output()).toContain('they wait in the outbox');
      expect(run.output()).not.toContain(next.base64);
    } finally {
      await events.close();
      await pool.end();
    }
  });
});

/** The command line offers the two commands, and no way to pass a key as an argument (argv shows in `ps`). */
describe('npm run cli -- secure-config', () => {
  it('has status and rotate; rotate takes key files, and its keys otherwise come from the environment', () => {
    const secureConfig = buildProgram().commands.find((command) => command.name() === 'secure-config');
    const commands = new Map(secureConfig?.commands.map((command) => [command.name(), command]));
    expect([...commands.keys()]).toEqual(['status', 'rotate']);
    expect(commands.get('rotate')?.options.map((option) => option.long)).toEqual(['--old-key-file', '--new-key-file']);
    expect(commands.get('rotate')?.registeredArguments).toEqual([]);
    expect(commands.get('status')?.options).toEqual([]);
  });
});
