import { type DatabasePool, sql } from 'slonik';
import { createDatabasePool } from '../src/platform/database/database';
import { DomainError } from '../src/platform/errors/domain-error';
import { ApiKeys, hashApiKey } from '../src/security/api-keys';
import { childEnv, startBuiltEntry, waitForExit } from './support/processes';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** The api_keys table (SPEC §4.6): keys shown once, stored as hashes, revocable, expiring. */
describe('API keys on PostgreSQL', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let keys: ApiKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    keys = new ApiKeys(pool);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  const codeOf = async (work: Promise<unknown>): Promise<string> => {
    const error = await work.then(
      () => null,
      (caught: unknown) => caught,
    );
    if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
    return error.code;
  };

  it('creates a 256-bit key, stores only its hash, and lets it in with its scopes', async () => {
    const { key, record } = await keys.create({ name: 'reader', scopes: ['queries:read', 'queries:read'] });
    expect(key).toMatch(/^p2s_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(4), 'base64url')).toHaveLength(32);
    expect(record).toMatchObject({ name: 'reader', scopes: ['queries:read'], expiresAt: null, revokedAt: null });
    const stored = await pool.one(sql.unsafe`SELECT * FROM api_keys WHERE name = 'reader'`);
    expect(stored.key_hash).toBe(hashApiKey(key));
    expect(JSON.stringify(stored)).not.toContain(key.slice(4));
    expect(await keys.authenticate(key)).toMatchObject({ name: 'reader', scopes: ['queries:read'] });
  });

  it('lets nothing else in: another key, a near miss, a malformed one', async () => {
    const { key } = await keys.create({ name: 'near', scopes: ['admin'] });
    const flipped = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    for (const presented of [flipped, key.slice(0, -1), `${key}x`, '', 'p2s_', key.toUpperCase()]) {
      expect(await keys.authenticate(presented)).toBeNull();
    }
  });

  it('shuts a revoked key out at once, and an expired one from its expiry on', async () => {
    const revoked = await keys.create({ name: 'to-revoke', scopes: ['admin'] });
    expect(await keys.revoke('to-revoke')).toBe(true);
    expect(await keys.authenticate(revoked.key)).toBeNull();
    expect(await keys.revoke('no-such-key')).toBe(false);
    // By the key itself, for an operator who holds a leaked key and not its name.
    const leaked = await keys.create({ name: 'leaked', scopes: ['queries:read'] });
    expect(await keys.revokeKey(leaked.key)).toBe('leaked');
    expect(await keys.authenticate(leaked.key)).toBeNull();
    expect(await keys.revokeKey(leaked.key)).toBe('leaked');
    expect(await keys.revokeKey(`p2s_${'A'.repeat(43)}`)).toBeNull();
    expect(await keys.revokeKey('leaked')).toBeNull();

    const expiresAt = new Date(Date.now() + 60_000);
    const expiring = await keys.create({ name: 'expiring', scopes: ['admin'], expiresAt });
    expect(await keys.authenticate(expiring.key, new Date(expiresAt.getTime() - 1))).not.toBeNull();
    expect(await keys.authenticate(expiring.key, expiresAt)).toBeNull();
  });

  it('refuses a bad name, no scope, a past expiry, and a name used before (even revoked)', async () => {
    expect(await codeOf(keys.create({ name: 'Bad Name', scopes: ['admin'] }))).toBe('invalid_api_key_name');
    expect(await codeOf(keys.create({ name: 'x'.repeat(65), scopes: ['admin'] }))).toBe('invalid_api_key_name');
    expect(await codeOf(keys.create({ name: 'empty', scopes: [] }))).toBe('invalid_api_key_scopes');
    expect(await codeOf(keys.create({ name: 'past', scopes: ['admin'], expiresAt: new Date(Date.now() - 1) }))).toBe('invalid_api_key_expiry');
    expect(await codeOf(keys.create({ name: 'to-revoke', scopes: ['admin'] }))).toBe('api_key_name_taken');
  });

  it('npm run cli -- api-keys revoke never prints a key given in a form it does not take', async () => {
    const { key } = await keys.create({ name: 'pasted', scopes: ['queries:read'] });
    /** The built CLI on this database, as an operator runs it. */
    const revoke = async (given: string): Promise<{ code: number | null; output: string }> => {
      const run = startBuiltEntry('cli.main.js', childEnv({ DATABASE_URL: database.url }), ['api-keys', 'revoke', given]);
      const { code } = await waitForExit(run.child, 60_000);
      return { code, output: run.output() };
    };

    // Copied with its header, or with a space around it: no key name, and no key either.
    const answers = await Promise.all([`Bearer ${key}`, ` ${key}`, `Authorization: Bearer ${key}`].map(revoke));

    expect(answers.map((answer) => [answer.code, answer.output.includes('api_key_not_found')])).toEqual(answers.map(() => [1, true]));
    for (const answer of answers) expect(answer.output).not.toContain(key.slice(4));
    expect(await keys.authenticate(key)).not.toBeNull();
  });

  it('lists every key with its state and never a key or hash', async () => {
    const listed = await keys.list();
    expect(listed.map((key) => key.name)).toEqual(expect.arrayContaining(['reader', 'near', 'to-revoke', 'expiring']));
    expect(listed.find((key) => key.name === 'to-revoke')?.revokedAt).toBeInstanceOf(Date);
    expect(JSON.stringify(listed)).not.toMatch(/p2s_|[0-9a-f]{64}/);
  });
});
