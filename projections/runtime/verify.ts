import { createHash } from 'node:crypto';
import { type DatabasePool, type DatabaseTransactionConnection, sql } from 'slonik';
import { z } from 'zod';
import { withTryAdvisoryLock } from '../../src/platform/database/advisory-lock';
import { DomainError } from '../../src/platform/errors/domain-error';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { lockCheckpoint, readCheckpoint } from '../../src/platform/read-models/checkpoints';
import { type Projection } from './projection';
import { BATCH_IDLE_TIMEOUT_MS } from './projector';
import { type BuildProgress } from './rebuild';
import { buildShadow, dropShadowSchema, endedIdle, liveSchemaOf, ownedTables, prepareShadow, setLocal, stalledHoldingCheckpoint, VERIFY_SCHEMA } from './shadow-schema';

/*
 * `projections verify`: proves that the live read models equal a rebuild from the events.
 *
 * 1. Every projection is built from position zero into VERIFY_SCHEMA (shadow-schema.ts), up to its
 *    live checkpoint as read when the build starts, batch by batch, with no lock held: the live
 *    projector and the queries carry on.
 * 2. Then, one projection at a time, in one transaction: lock its checkpoint row (the live projector
 *    cannot commit a batch of it meanwhile, and every live row of it is as of that checkpoint, since
 *    rows and checkpoint commit together), catch the copies up to that same checkpoint (the few
 *    events the projector applied since step 1), and compare each table with its copy, row by row,
 *    by primary key. The lock is held for the comparison of that one projection only.
 * 3. The schema is dropped: nothing resumes a verification; it is cheap to start again.
 *
 * Comparing. Rows are matched by primary key (a FULL JOIN) and compared as jsonb (to_jsonb of the
 * whole row), so every column counts with its type's own equality; a row that differs is reported
 * with its key and the columns that differ, a row only on one side with its key and content. No
 * column is left out of the comparison: every column of every read model comes from the events (their
 * data, positions, revisions, ids and recorded times); none is filled by now(), a sequence or a
 * random default, so a live row and its rebuilt twin are equal in full (admin_audit.occurred_at is
 * the event's recorded time, projection_checkpoints is not a read model). A table without a primary
 * key would be compared as a multiset (EXCEPT ALL both ways); none has one today.
 *
 * The checksum of a table is md5 over the md5 of each row's jsonb text, taken in the order of those
 * row hashes (collation "C"), so it depends on the rows alone, not on their physical order nor on the
 * database's collation; TimeZone is UTC for the comparison, so timestamps print the same everywhere.
 * The overall checksum is md5 over every table's name, row count and checksum, in projection order.
 * Two databases holding the same read models print the same checksum.
 */

const VERIFY_LOCK = [7358, 41] as const;

export interface VerifyOptions {
  readonly batchSizeMax?: number;
  readonly progress?: BuildProgress;
  /** Checked between batches: an aborted verification stops and reports nothing. */
  readonly signal?: AbortSignal;
  /** Differences listed per table, at most; all are counted. */
  readonly differencesShownMax?: number;
  /** The comparison's statements may take this long (a big table). */
  readonly statementTimeoutMs?: number;
  /** How long the comparison waits for a projection's checkpoint lock (a batch of the projector). */
  readonly lockTimeoutMs?: number;
  /**
   * How long a comparison's transaction, which holds the projection's checkpoint row, may sit idle
   * between two statements before the server ends it (PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS, as for
   * the projector's batches; BATCH_IDLE_TIMEOUT_MS unless given).
   */
  readonly idleTimeoutMs?: number;
}

export type RowDifference =
  | { readonly kind: 'changed'; readonly key: string; readonly columns: ReadonlyArray<{ readonly column: string; readonly live: string; readonly rebuilt: string }> }
  | { readonly kind: 'only_live' | 'only_rebuilt'; readonly key: string; readonly row: string };

export interface TableVerification {
  readonly table: string;
  /** Rows of the live table. */
  readonly rows: number;
  readonly checksum: string;
  /** Rows that differ, are missing or are extra, all counted. */
  readonly differences: number;
  readonly shown: readonly RowDifference[];
}

export interface ProjectionVerification {
  readonly name: string;
  /** The checkpoint both sides were compared at. */
  readonly position: bigint | null;
  readonly tables: readonly TableVerification[];
}

export interface VerifyReport {
  readonly projections: readonly ProjectionVerification[];
  readonly tables: number;
  readonly rows: number;
  readonly differences: number;
  readonly checksum: string;
  readonly head: bigint | null;
  readonly durationMs: number;
}

export async function verifyProjections(
  pool: DatabasePool,
  store: EventStore,
  projections: readonly Projection[],
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const startedAt = Date.now();
  const batchSizeMax = options.batchSizeMax ?? 1_000;
  const result = await withTryAdvisoryLock(pool, VERIFY_LOCK, async () => {
    ownedTables(projections);
    const liveSchema = await liveSchemaOf(pool, projections);
    const head = await store.headPosition();
    // A verification that crashed left its schema behind; nothing in it is worth keeping.
    await dropShadowSchema(pool, VERIFY_SCHEMA);
    try {
      for (const projection of projections) await prepareShadow(pool, projection, liveSchema, VERIFY_SCHEMA, { restart: true });
      for (const projection of projections) {
        const target = await readCheckpoint(pool, projection.name);
        options.progress?.start(projection.name, { from: null, to: target, resumed: false, eventsBefore: 0n });
        try {
          const built = await buildShadow(pool, store, projection, VERIFY_SCHEMA, target, {
            batchSizeMax,
            signal: options.signal,
            onBatch: (batch) => options.progress?.update(projection.name, { position: batch.position, to: target, events: batch.events }),
          });
          if (built.interrupted) throw new DomainError('verify_interrupted', 'The verification was interrupted; nothing was compared');
        } finally {
          options.progress?.stop(projection.name);
        }
      }
      const verified: ProjectionVerification[] = [];
      for (const projection of projections) {
        verified.push(
          await pool
            .transaction((transaction) => compareProjection(transaction, pool, store, projection, liveSchema, batchSizeMax, options))
            .catch((error: unknown) => {
              if (!endedIdle(error)) throw error;
              throw stalledHoldingCheckpoint('verify_stalled', 'comparison', projection, options.idleTimeoutMs ?? BATCH_IDLE_TIMEOUT_MS,
                'The verification is incomplete and proves nothing; the read models are untouched. Run it again.');
            }),
        );
      }
      return { verified, head };
    } finally {
      await dropShadowSchema(pool, VERIFY_SCHEMA);
    }
  });
  if (result === null) throw new DomainError('verify_in_progress', 'Another projections verify is running; wait for it to end', 409);
  const tables = result.verified.flatMap((projection) => projection.tables);
  const checksum = createHash('md5');
  for (const projection of result.verified) {
    for (const table of projection.tables) checksum.update(`${projection.name}.${table.table}:${table.rows}:${table.checksum}\n`);
  }
  return {
    projections: result.verified,
    tables: tables.length,
    rows: tables.reduce((sum, table) => sum + table.rows, 0),
    differences: tables.reduce((sum, table) => sum + table.differences, 0),
    checksum: checksum.digest('hex'),
    head: result.head,
    durationMs: Date.now() - startedAt,
  };
}

async function compareProjection(
  transaction: DatabaseTransactionConnection,
  pool: DatabasePool,
  store: EventStore,
  projection: Projection,
  liveSchema: string,
  batchSizeMax: number,
  options: VerifyOptions,
): Promise<ProjectionVerification> {
  // Before the checkpoint row is locked, as in the projector's batches (batch-settings.ts): a verify
  // stopped while it holds the row (Ctrl-Z, a frozen machine) would otherwise stop that projection's
  // live projector until slonik's session-wide idle_in_transaction_session_timeout (60 s) ended it.
  // Between two statements the client only waits for the catch-up's next read of the event store
  // (another connection; pipelined with the applying of the batch before) or works on a batch's
  // rows: measured on the 2-core development machine over 300,000 events of the bench history, with
  // a whole projection (up to 300,000 events) caught up under the lock (a rebuild's swap with
  // passesMax 0, the same buildShadow), at most 104 ms in batches of 1,000 (the CLI's default) and
  // 152 ms in batches of 10,000, and 36 ms in a whole verify; it grows with --batch-size, about
  // 15 ms per 1,000 events. The comparison's own statements run back to back.
  await setLocal(transaction, 'idle_in_transaction_session_timeout', `${options.idleTimeoutMs ?? BATCH_IDLE_TIMEOUT_MS}ms`);
  await setLocal(transaction, 'lock_timeout', `${options.lockTimeoutMs ?? 30_000}ms`);
  await setLocal(transaction, 'statement_timeout', `${options.statementTimeoutMs ?? 600_000}ms`);
  await setLocal(transaction, 'TimeZone', 'UTC');
  // Before the search path turns to the shadow: lockCheckpoint names its table unqualified.
  const position = await lockCheckpoint(transaction, projection.name);
  const shadow = await buildShadow(pool, store, projection, VERIFY_SCHEMA, position, { batchSizeMax }, transaction);
  if (shadow.position !== position) {
    throw new DomainError(
      'verify_checkpoint_moved_back',
      `The live checkpoint of ${projection.name} moved back to ${String(position)} during the verification (a rebuild or reset?); run it again`,
      409,
    );
  }
  // The catch-up's deferred constraint triggers (the journal's balance check) fire on the copies now.
  await transaction.query(sql.unsafe`SET CONSTRAINTS ALL IMMEDIATE`);
  const tables: TableVerification[] = [];
  for (const table of projection.tables) tables.push(await compareTable(transaction, liveSchema, table, options.differencesShownMax ?? 20));
  return { name: projection.name, position, tables };
}

const columnNames = z.object({ name: z.string() });

async function compareTable(transaction: DatabaseTransactionConnection, liveSchema: string, table: string, shownMax: number): Promise<TableVerification> {
  const live = sql.identifier([liveSchema, table]);
  const rebuilt = sql.identifier([VERIFY_SCHEMA, table]);
  const key = await transaction.anyFirst(sql.type(columnNames)`
    SELECT a.attname AS name
      FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = to_regclass(format('%I.%I', ${liveSchema}::text, ${table}::text)) AND i.indisprimary
     ORDER BY k.n`);
  const columns = await transaction.anyFirst(sql.type(columnNames)`
    SELECT a.attname AS name FROM pg_attribute a
     WHERE a.attrelid = to_regclass(format('%I.%I', ${liveSchema}::text, ${table}::text)) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`);
  const summary = await transaction.one(sql.type(z.object({ rows: z.bigint(), checksum: z.string() }))`
    SELECT count(*) AS rows,
           md5(coalesce(string_agg(h.row_hash, '' ORDER BY h.row_hash COLLATE "C"), '')) AS checksum
      FROM (SELECT md5(to_jsonb(t)::text) AS row_hash FROM ${live} t) h`);
  const differences = key.length > 0
    ? await differencesByKey(transaction, live, rebuilt, key, columns, shownMax)
    : await differencesAsMultiset(transaction, live, rebuilt, shownMax);
  return { table, rows: Number(summary.rows), checksum: summary.checksum, ...differences };
}

const differenceRow = z.object({
  total: z.bigint(),
  key_values: z.array(z.string()),
  live: z.string().nullable(),
  rebuilt: z.string().nullable(),
  changed: z.string().nullable(),
});

async function differencesByKey(
  transaction: DatabaseTransactionConnection,
  live: ReturnType<typeof sql.identifier>,
  rebuilt: ReturnType<typeof sql.identifier>,
  key: readonly string[],
  columns: readonly string[],
  shownMax: number,
): Promise<{ differences: number; shown: RowDifference[] }> {
  const on = sql.join(key.map((name) => sql.fragment`l.${sql.identifier([name])} = r.${sql.identifier([name])}`), sql.fragment` AND `);
  const keyValues = sql.join(key.map((name) => sql.fragment`coalesce(l.${sql.identifier([name])}, r.${sql.identifier([name])})::text`), sql.fragment`, `);
  const order = sql.join(key.map((name) => sql.fragment`coalesce(l.${sql.identifier([name])}, r.${sql.identifier([name])})`), sql.fragment`, `);
  const first = sql.identifier([key[0]]);
  // Values go out as jsonb text inside text, so no number (raw amounts) passes through a JS number.
  const rows = await transaction.any(sql.type(differenceRow)`
    SELECT count(*) OVER () AS total, ARRAY[${keyValues}] AS key_values,
           CASE WHEN r.${first} IS NULL THEN to_jsonb(l)::text END AS live,
           CASE WHEN l.${first} IS NULL THEN to_jsonb(r)::text END AS rebuilt,
           CASE WHEN l.${first} IS NOT NULL AND r.${first} IS NOT NULL THEN
             (SELECT jsonb_agg(jsonb_build_object('column', c.name, 'live', (to_jsonb(l) -> c.name)::text, 'rebuilt', (to_jsonb(r) -> c.name)::text) ORDER BY c.n)
                FROM unnest(${sql.array(columns, 'text')}) WITH ORDINALITY AS c(name, n)
               WHERE to_jsonb(l) -> c.name IS DISTINCT FROM to_jsonb(r) -> c.name)::text END AS changed
      FROM ${live} l FULL JOIN ${rebuilt} r ON ${on}
     WHERE l.${first} IS NULL OR r.${first} IS NULL OR to_jsonb(l) <> to_jsonb(r)
     ORDER BY ${order}
     LIMIT ${shownMax + 1}`);
  const keyText = (values: readonly string[]): string => key.map((name, index) => `${name}=${values[index]}`).join(', ');
  const shown = rows.slice(0, shownMax).map((row): RowDifference => {
    if (row.changed !== null) {
      return { kind: 'changed', key: keyText(row.key_values), columns: JSON.parse(row.changed) as Array<{ column: string; live: string; rebuilt: string }> };
    }
    if (row.live !== null) return { kind: 'only_live', key: keyText(row.key_values), row: row.live };
    return { kind: 'only_rebuilt', key: keyText(row.key_values), row: row.rebuilt ?? '' };
  });
  return { differences: rows.length === 0 ? 0 : Number(rows[0].total), shown };
}

async function differencesAsMultiset(
  transaction: DatabaseTransactionConnection,
  live: ReturnType<typeof sql.identifier>,
  rebuilt: ReturnType<typeof sql.identifier>,
  shownMax: number,
): Promise<{ differences: number; shown: RowDifference[] }> {
  const rows = await transaction.any(sql.type(z.object({ total: z.bigint(), side: z.enum(['only_live', 'only_rebuilt']), row: z.string() }))`
    WITH only_live AS (SELECT to_jsonb(t) AS row FROM ${live} t EXCEPT ALL SELECT to_jsonb(t) FROM ${rebuilt} t),
         only_rebuilt AS (SELECT to_jsonb(t) AS row FROM ${rebuilt} t EXCEPT ALL SELECT to_jsonb(t) FROM ${live} t),
         both_sides AS (SELECT 'only_live' AS side, row FROM only_live UNION ALL SELECT 'only_rebuilt', row FROM only_rebuilt)
    SELECT count(*) OVER () AS total, side, row::text AS row FROM both_sides ORDER BY row::text COLLATE "C" LIMIT ${shownMax + 1}`);
  const shown = rows.slice(0, shownMax).map((row): RowDifference => ({ kind: row.side, key: '(no primary key)', row: row.row }));
  return { differences: rows.length === 0 ? 0 : Number(rows[0].total), shown };
}

const ROW_TEXT_MAX = 400;

function clip(text: string): string {
  return text.length <= ROW_TEXT_MAX ? text : `${text.slice(0, ROW_TEXT_MAX)}…`;
}

/** One line per difference; `table key: what`. */
export function formatDifference(table: string, difference: RowDifference): string {
  switch (difference.kind) {
    case 'changed':
      return `${table} ${difference.key}: ${difference.columns.map((column) => `${column.column} live ${column.live}, rebuilt ${column.rebuilt}`).join('; ')}`;
    case 'only_live':
      return `${table} ${difference.key}: only in the live table (the events do not produce it): ${clip(difference.row)}`;
    case 'only_rebuilt':
      return `${table} ${difference.key}: missing from the live table (the rebuild has it): ${clip(difference.row)}`;
    default: {
      const unreachable: never = difference;
      throw new Error(`Unknown difference ${JSON.stringify(unreachable)}`);
    }
  }
}

export function formatVerifyReport(report: VerifyReport): string {
  const seconds = (report.durationMs / 1000).toFixed(2);
  const lines: string[] = [];
  if (report.differences > 0) {
    for (const projection of report.projections) {
      for (const table of projection.tables) {
        if (table.differences === 0) continue;
        lines.push(`${table.table} (projection ${projection.name}, checkpoint ${String(projection.position)}): ${table.differences} row${table.differences === 1 ? ' differs' : 's differ'} from a rebuild`);
        for (const difference of table.shown) lines.push(`  ${formatDifference(table.table, difference)}`);
        if (table.differences > table.shown.length) lines.push(`  … and ${table.differences - table.shown.length} more`);
      }
    }
    const tablesWith = report.projections.flatMap((projection) => projection.tables).filter((table) => table.differences > 0).length;
    lines.push(
      `Verification FAILED: ${report.differences} difference${report.differences === 1 ? '' : 's'} in ${tablesWith} of ${report.tables} tables. ` +
        'Rebuild the projections named above (npm run cli -- projections rebuild <name>) once the cause is understood.',
    );
    lines.push(`verify took ${seconds} s`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(`${'projection'.padEnd(22)} ${'table'.padEnd(22)} ${'checkpoint'.padStart(10)} ${'rows'.padStart(9)}  checksum`);
  for (const projection of report.projections) {
    for (const table of projection.tables) {
      lines.push(`${projection.name.padEnd(22)} ${table.table.padEnd(22)} ${String(projection.position ?? '-').padStart(10)} ${String(table.rows).padStart(9)}  ${table.checksum}`);
    }
  }
  lines.push(
    `Verified ${report.projections.length} projections, ${report.tables} tables, ${report.rows} rows: the live read models equal a rebuild from the events.`,
  );
  // Each projection is compared at its own checkpoint; one far behind is equal to a rebuild only that far.
  lines.push(`Compared at each projection's checkpoint (above); the event store's head was ${String(report.head ?? '- (empty)')}.`);
  lines.push(`checksum ${report.checksum}`);
  lines.push(`verify took ${seconds} s`);
  return `${lines.join('\n')}\n`;
}
