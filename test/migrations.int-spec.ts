import { cp, mkdtemp, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrate, MigrationChecksumError, migrationsDir } from '../src/platform/database/migrations';
import { createTestDatabase, type TestDatabase } from './support/test-database';

describe('forward-only migrations', () => {
  let database: TestDatabase;
  let dir: string;

  beforeEach(async () => {
    database = await createTestDatabase({ migrate: false });
    dir = await mkdtemp(join(tmpdir(), 'ledger-migrations-'));
    await cp(migrationsDir(), dir, { recursive: true });
  });

  afterEach(async () => {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function appliedVersions(): Promise<string[]> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
      return rows.map((row) => row.version);
    } finally {
      await client.end();
    }
  }

  it('applies every file once, records it, and applies only new files later', async () => {
    const first = await migrate(database.url, dir);
    const second = await migrate(database.url, dir);
    await writeFile(join(dir, '9999_create_probe.sql'), 'CREATE TABLE probe (id int);\n');
    const third = await migrate(database.url, dir);

    expect(first.applied[0]).toBe('0001_create_event_store');
    expect(second.applied).toEqual([]);
    expect(third.applied).toEqual(['9999_create_probe']);
    expect((await appliedVersions()).at(-1)).toBe('9999');
  });

  it('refuses to go on when an applied file was changed afterwards', async () => {
    await migrate(database.url, dir);
    await appendFile(join(dir, '0001_create_event_store.sql'), '\n-- edited after the fact\n');

    await expect(migrate(database.url, dir)).rejects.toBeInstanceOf(MigrationChecksumError);
  });

  it('rolls a failing file back whole and records nothing for it', async () => {
    await migrate(database.url, dir);
    await writeFile(join(dir, '9999_create_broken.sql'), 'CREATE TABLE half (id int);\nTHIS IS NOT SQL;\n');

    await expect(migrate(database.url, dir)).rejects.toThrow(/9999_create_broken\.sql failed/);
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const { rowCount } = await client.query("SELECT 1 FROM pg_tables WHERE tablename = 'half'");
    await client.end();
    expect(rowCount).toBe(0);
    expect(await appliedVersions()).not.toContain('9999');
  });

  it('records the operator accounts that signed before operator_accounts existed', async () => {
    // The schema as it was before migration 0019 (later files, if any, left out too).
    for (const name of await readdir(dir)) if (name >= '0019') await rm(join(dir, name));
    await migrate(database.url, dir);
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      // An account with an operator stream in the PostgreSQL event store, one the treasury read
      // model saw receive (its events in EventStoreDB), and a stream of another category.
      await client.query(`INSERT INTO event_streams (stream_name, stream_revision) VALUES ('operator-ban_1former', 3), ('user-ban_1notoperator', 0)`);
      await client.query(`INSERT INTO donation_ledger (send_block_hash, operator_address, kind, sender, amount_raw, amount_ban, receive_block_hash, received_at, event_id, position)
        VALUES ('S1', 'ban_1received', 'funding', 'ban_1sender', 1, 0, 'R1', now(), gen_random_uuid(), 1), ('S2', 'ban_1former', 'donation', 'ban_1sender', 1, 0, 'R2', now(), gen_random_uuid(), 2)`);
      await cp(join(migrationsDir(), '0019_create_operator_accounts.sql'), join(dir, '0019_create_operator_accounts.sql'));

      expect((await migrate(database.url, dir)).applied).toEqual(['0019_create_operator_accounts']);
      const { rows } = await client.query<{ address: string }>('SELECT address FROM operator_accounts ORDER BY address');
      expect(rows.map((row) => row.address)).toEqual(['ban_1former', 'ban_1received']);
    } finally {
      await client.end();
    }
  });

  it('seeds the operator accounts the journal and treasury projections have seen, and admits a transfer', async () => {
    // The schema as it was before migration 0024.
    for (const name of await readdir(dir)) if (name >= '0024') await rm(join(dir, name));
    await migrate(database.url, dir);
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      // Operator streams in the PostgreSQL event store: one whose first event both projections have
      // applied, one whose first event only the journal has, and a user stream, no operator
      // account. As with EventStoreDB, accounts only the read models show receiving: a journal
      // entry of another operator stream, a treasury row of another account.
      const streams: Array<[string, number]> = [
        ['operator-ban_1stream', 1],
        ['operator-ban_1ahead', 5],
        ['user-ban_1notoperator', 2],
      ];
      for (const [stream, position] of streams) {
        await client.query(`INSERT INTO event_streams (stream_name, stream_revision) VALUES ($1, 0)`, [stream]);
        await client.query(
          `INSERT INTO events (global_position, stream_name, stream_category, stream_revision, event_id, event_type, data, metadata, transaction_id)
           VALUES ($1, $2, split_part($2, '-', 1), 0, gen_random_uuid(), 'Probe', '{}', '{}', pg_current_xact_id())`,
          [position, stream],
        );
      }
      await client.query(`INSERT INTO projection_checkpoints (projection_name, position) VALUES ('journal', 5), ('treasury', 4)`);
      await client.query('BEGIN');
      await client.query(`INSERT INTO journal_entries (entry_id, position, stream_name, event_type, kind, occurred_at, description)
        VALUES ('00000000-0000-7000-8000-000000000001', 1, 'operator-ban_1journal', 'DonationReceived', 'standard', now(), 'Donation')`);
      await client.query(`INSERT INTO journal_postings (entry_id, line, account, amount_raw)
        VALUES ('00000000-0000-7000-8000-000000000001', 1, 'asset:operator_wallet', 5), ('00000000-0000-7000-8000-000000000001', 2, 'equity:donations', -5)`);
      await client.query('COMMIT');
      await client.query(`INSERT INTO donation_ledger (send_block_hash, operator_address, kind, sender, amount_raw, amount_ban, receive_block_hash, received_at, event_id, position)
        VALUES ('S1', 'ban_1treasury', 'donation', 'ban_1sender', 1, 0, 'R1', now(), gen_random_uuid(), 1)`);
      await cp(join(migrationsDir(), '0024_create_projection_operator_accounts.sql'), join(dir, '0024_create_projection_operator_accounts.sql'));

      expect((await migrate(database.url, dir)).applied).toEqual(['0024_create_projection_operator_accounts']);
      const addresses = async (table: string) => (await client.query<{ address: string }>(`SELECT address FROM ${table} ORDER BY address`)).rows.map((row) => row.address);
      expect(await addresses('journal_operator_accounts')).toEqual(['ban_1ahead', 'ban_1journal', 'ban_1stream']);
      // The treasury projection has not applied ban_1ahead's first event yet: it meets it as it
      // would in a rebuild, after the receives before it.
      expect(await addresses('treasury_operator_accounts')).toEqual(['ban_1stream', 'ban_1treasury']);
      await client.query(`INSERT INTO donation_ledger (send_block_hash, operator_address, kind, sender, amount_raw, amount_ban, receive_block_hash, received_at, event_id, position)
        VALUES ('S2', 'ban_1stream', 'transfer', 'ban_1treasury', 1, 0, 'R2', now(), gen_random_uuid(), 2)`);
      await expect(
        client.query(`INSERT INTO donation_ledger (send_block_hash, operator_address, kind, sender, amount_raw, amount_ban, receive_block_hash, received_at, event_id, position)
          VALUES ('S3', 'ban_1stream', 'gift', 'ban_1sender', 1, 0, 'R3', now(), gen_random_uuid(), 3)`),
      ).rejects.toThrow(/donation_ledger_kind_check/);
    } finally {
      await client.end();
    }
  });

  it('migrates once when several processes start together', async () => {
    const results = await Promise.all([migrate(database.url, dir), migrate(database.url, dir), migrate(database.url, dir)]);
    expect(results.map((result) => result.applied.length > 0).filter(Boolean)).toHaveLength(1);
  });
});
