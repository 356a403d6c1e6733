import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { Projector, resetProjection } from '../projections';
import { journalProjection } from '../projections/journal/journal.projection';
import { treasuryProjection } from '../projections/treasury/treasury.projection';
import { RAW_PER_BAN } from '../src/platform/money';
import { waitForCheckpoint } from '../src/platform/read-models/checkpoints';
import { journalBalances, trialBalance } from '../src/treasury/journal/journal-balances';
import { recordReceive } from './support/receive-record';
import { newBananoAccount } from './support/scenario';
import { useDatabaseWithStore } from './support/test-database';

const SYNC_TIMEOUT_MS = 15_000;
const BAN = RAW_PER_BAN;

/**
 * A send from one account of the operator to another, recorded as FundingReceived, moves BAN the
 * books already hold: the journal books it as a transfer that changes no balance, and the treasury
 * read model lists it as 'transfer' in no total, unless it names the payout it is (a payout that
 * came back). Whether the sender is an operator account is judged by the events before the
 * receive, the same in one batch as across many.
 */
describe('projections: sends between the operator accounts', () => {
  const suite = useDatabaseWithStore();
  const sendHashes: Record<string, string> = {};

  async function receive(
    address: string,
    kind: 'DonationReceived' | 'FundingReceived',
    sender: string,
    amountRaw: bigint,
    name: string,
    returnedPayoutId?: string,
  ): Promise<void> {
    sendHashes[name] = await recordReceive(suite.store, { address, kind, sender, amountRaw, returnedPayoutId, actorName: 'operator-transfers-test' });
  }

  /** Projects the whole history with the journal and treasury projections, `batchSizeMax` events a batch. */
  async function project(batchSizeMax: number): Promise<void> {
    const projections = [journalProjection, treasuryProjection];
    for (const projection of projections) await resetProjection(suite.pool, projection);
    const projector = new Projector(suite.pool, suite.store, projections, { batchSizeMax });
    projector.start();
    try {
      const head = (await suite.store.headPosition()) as bigint;
      for (const projection of projections) expect(await waitForCheckpoint(suite.pool, projection.name, head, SYNC_TIMEOUT_MS)).toBe(true);
    } finally {
      await projector.stop();
    }
  }

  async function treasuryRows(): Promise<{ kinds: Record<string, string>; totals: Record<string, string> }> {
    const kinds = await suite.pool.any(sql.type(z.object({ send_block_hash: z.string(), kind: z.string() }))`SELECT send_block_hash, kind FROM donation_ledger`);
    const totals = await suite.pool.any(sql.type(z.object({ total_name: z.string(), amount_raw: z.string() }))`SELECT total_name, amount_raw::text FROM treasury_totals`);
    const names = new Map(Object.entries(sendHashes).map(([name, hash]) => [hash, name]));
    return {
      kinds: Object.fromEntries(kinds.map((row) => [names.get(row.send_block_hash) as string, row.kind])),
      totals: Object.fromEntries(totals.map((row) => [row.total_name, row.amount_raw])),
    };
  }

  beforeAll(async () => {
    const [a, b, c, donor, funder] = await Promise.all([1, 2, 3, 4, 5].map(() => newBananoAccount()));
    // Given account A receives a donation,
    await receive(a.address, 'DonationReceived', donor.address, 150n * BAN, 'donation to A');
    // B receives from C before C has any event, from A, from itself (a payout to a player who
    // linked B's address, come back) and from a funding address,
    await receive(b.address, 'FundingReceived', c.address, 10n * BAN, 'C to B, C unknown');
    await receive(b.address, 'FundingReceived', a.address, 150n * BAN, 'A to B');
    await receive(b.address, 'FundingReceived', b.address, 3n * BAN, 'B to B');
    await receive(b.address, 'FundingReceived', funder.address, 50n * BAN, 'funder to B');
    // a payout A sent to a player whose wallet is B, come back to B once B is the operator's,
    await receive(b.address, 'FundingReceived', a.address, 2n * BAN, 'payout of A back to B', randomUUID());
    // C then receives a donation, and sends to B again.
    await receive(c.address, 'DonationReceived', donor.address, 7n * BAN, 'donation to C');
    await receive(b.address, 'FundingReceived', c.address, 5n * BAN, 'C to B, C known');
  });

  const expectedKinds = {
    'donation to A': 'donation',
    'C to B, C unknown': 'funding',
    'A to B': 'transfer',
    'B to B': 'funding',
    'funder to B': 'funding',
    'payout of A back to B': 'funding',
    'donation to C': 'donation',
    'C to B, C known': 'transfer',
  };

  it.each([
    ['in one batch', 500],
    ['one event a batch', 1],
  ])('counts the BAN moved between operator accounts once, %s', async (_case, batchSizeMax) => {
    const { pool } = suite;
    await project(batchSizeMax);

    // The books hold what came in from outside the operator's accounts: 157 BAN of donations and
    // 65 of funding (10 + 3 + 50, and the 2 of A's payout that came back), not the 155 moved from A
    // and C.
    expect(await journalBalances(pool)).toMatchObject({ operatorWalletRaw: 222n * BAN, donationsRaw: 157n * BAN, fundingRaw: 65n * BAN });
    expect(await trialBalance(pool)).toBe(0n);
    const transferEntries = await pool.anyFirst(sql.type(z.object({ description: z.string() }))`
      SELECT description FROM journal_entries WHERE description LIKE 'Transfer between%' ORDER BY position`);
    expect(transferEntries).toEqual([
      expect.stringContaining(`150.00000000 BAN from`),
      expect.stringContaining(`5.00000000 BAN from`),
    ]);
    expect(await treasuryRows()).toEqual({
      kinds: expectedKinds,
      totals: { donated: (157n * BAN).toString(), funded: (65n * BAN).toString() },
    });
  });

  it('decides the same when a batch is applied again', async () => {
    const { pool, store } = suite;
    await project(500);
    // The checkpoint goes back, as after a crash between the commit and its acknowledgement.
    await pool.query(sql.unsafe`UPDATE projection_checkpoints SET position = NULL WHERE projection_name IN ('journal', 'treasury')`);
    const projector = new Projector(pool, store, [journalProjection, treasuryProjection], { batchSizeMax: 500 });
    projector.start();
    try {
      const head = (await store.headPosition()) as bigint;
      for (const name of ['journal', 'treasury']) expect(await waitForCheckpoint(pool, name, head, SYNC_TIMEOUT_MS)).toBe(true);
    } finally {
      await projector.stop();
    }
    expect(await journalBalances(pool)).toMatchObject({ operatorWalletRaw: 222n * BAN, donationsRaw: 157n * BAN, fundingRaw: 65n * BAN });
    expect(await treasuryRows()).toEqual({
      kinds: expectedKinds,
      totals: { donated: (157n * BAN).toString(), funded: (65n * BAN).toString() },
    });
  });
});
