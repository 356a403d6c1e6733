import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { type RunningEmbeddedPostgres, startEmbeddedPostgres } from '../../src/platform/database/embedded-postgres';
import { migrate } from '../../src/platform/database/migrations';
import { type BenchDatabase } from '../types';
import { messageOf } from '../../src/platform/errors/message-of';

/** The PostgreSQL server the benchmarks create their databases on. */
export interface BenchServer {
  readonly adminUrl: string;
  /** True when the runner started it (no DATABASE_URL). */
  readonly embedded: boolean;
  createDatabase(prefix: string, options?: { migrate?: boolean }): Promise<BenchDatabase>;
  /** Version and the durability settings that decide what a commit costs. */
  describe(): Promise<ServerDescription>;
  /** Drops every database still left, then stops an embedded server and removes its files. */
  close(): Promise<void>;
}

export interface ServerDescription {
  readonly version: string;
  readonly fsync: string;
  readonly synchronousCommit: string;
  readonly fullPageWrites: string;
  readonly sharedBuffers: string;
}

const PREFIX = /^[a-z0-9_]{1,30}$/;

/**
 * DATABASE_URL's server when it is set, else an embedded PostgreSQL in a temporary directory with
 * durable settings (fsync, synchronous_commit and full_page_writes on, as in production), unlike
 * the test suite's throwaway cluster: a benchmark of durable appends must pay for durability.
 */
export async function openBenchServer(log: (line: string) => void): Promise<BenchServer> {
  const external = process.env.DATABASE_URL;
  let embedded: { postgres: RunningEmbeddedPostgres; dataDir: string } | null = null;
  let adminUrl: string;
  if (external !== undefined && external.trim() !== '') {
    adminUrl = external.trim();
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-bench-pg-'));
    const lines: string[] = [];
    log(`no DATABASE_URL: starting an embedded PostgreSQL (durable settings) in ${dataDir}`);
    try {
      const postgres = await startEmbeddedPostgres({
        dataDir,
        settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' },
        log: (line) => lines.push(line),
      });
      embedded = { postgres, dataDir };
      adminUrl = postgres.url;
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`${messageOf(error)}\n${lines.slice(-20).join('\n')}`);
    }
  }
  const created = new Set<string>();

  const drop = async (name: string): Promise<void> => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    } finally {
      await client.end();
    }
    created.delete(name);
  };

  return {
    adminUrl,
    embedded: embedded !== null,
    async createDatabase(prefix, options = {}) {
      if (!PREFIX.test(prefix)) throw new Error(`A database prefix is 1 to 30 of a-z, 0-9 and _ (got ${prefix})`);
      const name = `bench_${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
      const admin = new Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE template0`);
      } finally {
        await admin.end();
      }
      created.add(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const database: BenchDatabase = { url: url.toString(), name, drop: () => drop(name) };
      if (options.migrate !== false) await migrate(database.url);
      return database;
    },
    async describe() {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const show = async (setting: string): Promise<string> => String((await client.query(`SHOW ${setting}`)).rows[0][setting]);
        return {
          version: await show('server_version'),
          fsync: await show('fsync'),
          synchronousCommit: await show('synchronous_commit'),
          fullPageWrites: await show('full_page_writes'),
          sharedBuffers: await show('shared_buffers'),
        };
      } finally {
        await client.end();
      }
    },
    async close() {
      const problems: string[] = [];
      for (const name of [...created]) {
        await drop(name).catch((error: unknown) => problems.push(`${name}: ${messageOf(error)}`));
      }
      if (embedded !== null) {
        await embedded.postgres.stop().catch((error: unknown) => problems.push(`embedded PostgreSQL: ${String(error)}`));
        await rm(embedded.dataDir, { recursive: true, force: true });
      }
      if (problems.length > 0) throw new Error(`clean-up failed: ${problems.join('; ')}`);
    },
  };
}
