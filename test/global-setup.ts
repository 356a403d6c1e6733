import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/platform/database/embedded-postgres';

/**
 * Tests use the PostgreSQL server named by DATABASE_URL when it is set. Otherwise they start one
 * embedded PostgreSQL for the whole run, in a throwaway directory. Either way each suite then
 * creates its own database on that server (test/support/test-database.ts).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'ledger-test-pg-'));
  const lines: string[] = [];
  try {
    const postgres = await startEmbeddedPostgres({
      dataDir,
      // A throwaway cluster: durability settings only slow the tests down.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
      log: (line) => lines.push(line),
    });
    process.env.TEST_ADMIN_DATABASE_URL = postgres.url;
    (globalThis as { __embeddedPostgres?: unknown }).__embeddedPostgres = { postgres, dataDir };
  } catch (error) {
    process.stderr.write(`${lines.join('\n')}\n`);
    throw error;
  }
}
