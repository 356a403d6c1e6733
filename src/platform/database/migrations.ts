import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { projectRoot } from '../config/project-root';
import { messageOf } from '../errors/message-of';
import { StartupRefusal } from '../runtime/startup-refusal';

export interface Migration {
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
  readonly sql: string;
}

export class MigrationChecksumError extends StartupRefusal {
  constructor(readonly migration: string) {
    super(
      `Migration ${migration} was changed after it was applied. Migrations are forward-only: ` +
        'restore the file and add a new migration instead.',
    );
    this.name = 'MigrationChecksumError';
  }
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
/**
 * One lock shared by every process, so two services starting together migrate once. Its key has
 * two integers: one-bigint keys are reserved for the event store's in-flight appends.
 */
const MIGRATION_LOCK = [7358, 2] as const;

export function migrationsDir(): string {
  return join(projectRoot(), 'migrations');
}

export async function loadMigrations(dir = migrationsDir()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (match === null) throw new Error(`Migration file ${file} must be named NNNN_verb_object.sql`);
    const sql = await readFile(join(dir, file), 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    migrations.push({ version: match[1], name: match[2], checksum, sql });
  }
  const versions = new Set(migrations.map((migration) => migration.version));
  if (versions.size !== migrations.length) throw new Error('Two migration files share a version number');
  return migrations;
}

/**
 * The first connection failed, whatever pg said: its own errors for a server that hangs up
 * (`Connection terminated unexpectedly`) or says nothing until the connect timeout (`timeout
 * expired`) carry no code, so only this says they came from the connect. The message and any
 * code are pg's.
 */
export class DatabaseConnectFailure extends Error {
  readonly code: unknown;

  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
    this.name = 'DatabaseConnectFailure';
    this.code = (cause as { code?: unknown } | null)?.code;
  }
}

export interface MigrateResult {
  readonly applied: string[];
  readonly alreadyApplied: number;
}

/**
 * Applies the pending migrations in order, each in its own transaction, and refuses to go on when
 * an applied file has changed since (its checksum is recorded). Raw `pg` is used here because a
 * migration file is a multi-statement script, which only the simple query protocol runs.
 */
export async function migrate(connectionString: string, dir = migrationsDir()): Promise<MigrateResult> {
  const migrations = await loadMigrations(dir);
  const client = new Client({ connectionString, connectionTimeoutMillis: 10_000 });
  await client.connect().catch((error: unknown) => {
    throw new DatabaseConnectFailure(error);
  });
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    text PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const applied = new Map(rows.map((row) => [row.version, row]));
    for (const row of rows) {
      const file = migrations.find((migration) => migration.version === row.version);
      if (file === undefined) throw new Error(`Applied migration ${row.version}_${row.name} is missing from ${dir}`);
      if (file.checksum !== row.checksum) throw new MigrationChecksumError(`${row.version}_${row.name}.sql`);
    }
    const newlyApplied: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${migration.version}_${migration.name}.sql failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      newlyApplied.push(`${migration.version}_${migration.name}`);
    }
    return { applied: newlyApplied, alreadyApplied: applied.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}
