import { type DatabasePool } from 'slonik';
import { createDatabasePool } from '../src/platform/database/database';
import { API_KEY_CACHE_TTL_MS, ApiKeys, CachingApiKeys } from '../src/security/api-keys';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/**
 * The request path remembers a live key for API_KEY_CACHE_TTL_MS (src/security/api-keys.ts): a
 * revocation made by another process (the CLI) takes effect within that bound, one made through
 * the same instance at once, and expiry on every request. The clock is the test's, not the wall's.
 */
describe('the API key cache of the request path', () => {
  let database: TestDatabase;
  let pool: DatabasePool;
  let cli: ApiKeys;
  let nowMs: number;
  let service: CachingApiKeys;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    cli = new ApiKeys(pool);
  });

  beforeEach(() => {
    nowMs = 1_000_000;
    service = new CachingApiKeys(pool, API_KEY_CACHE_TTL_MS, () => nowMs);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  it('refuses a key revoked elsewhere once the cache bound has passed, not before', async () => {
    const { key } = await cli.create({ name: 'revoked-by-the-cli', scopes: ['commands:write'] });
    expect(await service.authenticate(key)).toMatchObject({ name: 'revoked-by-the-cli' });
    expect(await cli.revoke('revoked-by-the-cli')).toBe(true);

    nowMs += API_KEY_CACHE_TTL_MS - 1;
    expect(await service.authenticate(key)).toMatchObject({ name: 'revoked-by-the-cli' });
    nowMs += 1;
    expect(await service.authenticate(key)).toBeNull();
    // A refusal is not remembered: it is looked up again, and stays refused.
    expect(await service.authenticate(key)).toBeNull();
  });

  it('refuses a key revoked through itself at once', async () => {
    const { key } = await cli.create({ name: 'revoked-here', scopes: ['queries:read'] });
    expect(await service.authenticate(key)).not.toBeNull();
    expect(await service.revoke('revoked-here')).toBe(true);
    expect(await service.authenticate(key)).toBeNull();
  });

  it('checks expiry on every request, also for a remembered key', async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    const { key } = await cli.create({ name: 'expiring-cached', scopes: ['admin'], expiresAt });
    expect(await service.authenticate(key, new Date(expiresAt.getTime() - 1))).not.toBeNull();
    expect(await service.authenticate(key, expiresAt)).toBeNull();
  });

  it('refuses what is not a key without a lookup, and an unknown key every time', async () => {
    expect(await service.authenticate('not-a-key')).toBeNull();
    const unknown = `p2s_${'A'.repeat(43)}`;
    expect(await service.authenticate(unknown)).toBeNull();
    expect(await service.authenticate(unknown)).toBeNull();
  });
});
