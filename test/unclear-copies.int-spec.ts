import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool } from 'slonik';
import { type AccountInfo, type BananoRpcClient } from '../src/payouts/banano/banano-rpc.client';
import { type StateBlock } from '../src/payouts/banano/state-block';
import { UnclearCopies } from '../src/payouts/banano/unclear-copies';
import { createDatabasePool } from '../src/platform/database/database';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const HASH = 'AB'.repeat(32);
const PREVIOUS = 'CD'.repeat(32);
const ACCOUNT = 'ban_1operator1111111111111111111111111111111111111111111111111111';

/** A send block whose previous is still its account's frontier: only the landing window can end its doubt. */
const block = { type: 'state', account: ACCOUNT, previous: PREVIOUS } as StateBlock;
const frontierUnmoved = {
  accountInfo: async (): Promise<Partial<AccountInfo>> => ({ frontier: PREVIOUS }),
  blockInfo: async () => null,
} as unknown as BananoRpcClient;

/**
 * The copies of operator blocks in doubt, against real PostgreSQL. Every process of one ledger
 * writes the operator account's blocks (the service's executor and donation ingester, a separate
 * `npm run start:payouts`), each with the landing window of its own environment.
 */
describe('unclear copies', () => {
  let database: TestDatabase;
  let pool: DatabasePool;

  beforeEach(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
  });

  afterEach(async () => {
    await pool.end();
    await database.drop();
  });

  it('keeps a copy in doubt for the window of the process that published it, whatever window the process asking has', async () => {
    const publisher = new UnclearCopies(pool, 60_000);
    const asker = new UnclearCopies(pool, 50);

    await publisher.publishing(HASH);
    await sleep(200);

    // The asker's own window is over; the publisher's is not, so the copy may still land.
    expect(await asker.mayStillLand(frontierUnmoved, HASH, block)).toBe(true);
  });

  it('keeps a copy in doubt for the asker\'s window when it is the longer one', async () => {
    const publisher = new UnclearCopies(pool, 50);
    const asker = new UnclearCopies(pool, 60_000);

    await publisher.publishing(HASH);
    await sleep(200);

    expect(await asker.mayStillLand(frontierUnmoved, HASH, block)).toBe(true);
  });

  it('ends the doubt once every window is over', async () => {
    const publisher = new UnclearCopies(pool, 50);
    const asker = new UnclearCopies(pool, 100);

    await publisher.publishing(HASH);
    await sleep(300);

    expect(await asker.mayStillLand(frontierUnmoved, HASH, block)).toBe(false);
  });
});
