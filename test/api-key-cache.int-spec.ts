import { type DatabasePool } from 'slonik';
import { createDatabasePool } from '../src/platform/database/database';
import { API_KEY_CACHE_TTL_MS, ApiKeys, CachingApiKeys } from '../src/security/api-keys';
import { createTestDatabase, type TestDatabase } from './support/test-database';

/** A lookup's answer held after PostgreSQL gave it: `read` once the row is read, `release` to deliver it. */
interface HeldAnswer {
  readonly read: Promise<void>;
  readonly release: () => void;
}

/**
 * The pool, except that the answer to the next maybeOne is held, once PostgreSQL has given it,
 * until the test lets it go: a key read live and heard of by the service only after a revocation
 * (a slow network, a busy event loop). Every query still goes to PostgreSQL and back.
 */
function holdingPool(pool: DatabasePool): { readonly db: DatabasePool; holdNextAnswer(): HeldAnswer } {
  let next: { readonly read: () => void; readonly released: Promise<void> } | null = null;
  const maybeOne = (async (...args: Parameters<DatabasePool['query']>) => {
    const hold = next;
    next = null;
    const row = await pool.maybeOne(...args);
    if (hold !== null) {
      hold.read();
      await hold.released;
    }
    return row;
  }) as DatabasePool['maybeOne'];
  return {
    db: new Proxy(pool, { get: (target, property, receiver) => (property === 'maybeOne' ? maybeOne : Reflect.get(target, property, receiver)) }),
    holdNextAnswer(): HeldAnswer {
      let read = (): void => undefined;
      let release = (): void => undefined;
      const readPromise = new Promise<void>((resolve) => (read = resolve));
      next = { read, released: new Promise<void>((resolve) => (release = resolve)) };
      return { read: readPromise, release };
    },
  };
}

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

  it('refuses a key revoked elsewhere within the cache bound of when it was read, however late the answer came', async () => {
    const held = holdingPool(pool);
    service = new CachingApiKeys(held.db, API_KEY_CACHE_TTL_MS, () => nowMs);
    const { key } = await cli.create({ name: 'read-before-the-cli-revoked', scopes: ['commands:write'] });

    const answer = held.holdNextAnswer();
    const lookup = service.authenticate(key);
    await answer.read; // PostgreSQL has answered: live
    expect(await cli.revoke('read-before-the-cli-revoked')).toBe(true);
    nowMs += API_KEY_CACHE_TTL_MS / 2; // the answer reaches the service half the bound late
    answer.release();
    expect(await lookup).toMatchObject({ name: 'read-before-the-cli-revoked' });

    nowMs += API_KEY_CACHE_TTL_MS / 2 - 1;
    expect(await service.authenticate(key)).toMatchObject({ name: 'read-before-the-cli-revoked' });
    nowMs += 1; // the bound after the revocation, and after the read
    expect(await service.authenticate(key)).toBeNull();
  });

  it.each([
    ['its name', (keys: CachingApiKeys, name: string): Promise<unknown> => keys.revoke(name)],
    ['the key', (keys: CachingApiKeys, _name: string, key: string): Promise<unknown> => keys.revokeKey(key)],
  ])('refuses a key revoked through itself by %s at once, also when a lookup had read it live just before', async (way, revoke) => {
    const held = holdingPool(pool);
    service = new CachingApiKeys(held.db, API_KEY_CACHE_TTL_MS, () => nowMs);
    const name = `read-before-revoked-here-${way.replaceAll(' ', '-')}`;
    const { key } = await cli.create({ name, scopes: ['queries:read'] });

    const answer = held.holdNextAnswer();
    const lookup = service.authenticate(key);
    await answer.read; // PostgreSQL has answered: live
    expect(await revoke(service, name, key)).toBeTruthy();
    answer.release();
    await lookup; // began before the revocation: either answer is right for it

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
