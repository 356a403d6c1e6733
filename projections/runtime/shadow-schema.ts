import { createHash } from 'node:crypto';
import { type CommonQueryMethods, type DatabasePool, type DatabaseTransactionConnection, IdleTransactionTimeoutError, sql } from 'slonik';
import { z } from 'zod';
import { type EventStore, type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { DomainError } from '../../src/platform/errors/domain-error';
import { messageOf } from '../../src/platform/errors/message-of';
import { setBatchSettings } from './batch-settings';
import { type Projection } from './projection';

/*
 * Shadow schemas: a projection rebuilt from position zero into copies of its tables that live in
 * another schema, while the live tables go on serving queries and the live projector goes on
 * following the store. `projections rebuild` builds in REBUILD_SCHEMA and then swaps the copies in
 * (rebuild.ts); `projections verify` builds in VERIFY_SCHEMA and compares (verify.ts).
 *
 * How a projection is made to write into the shadow. `apply` writes unqualified table names, so a
 * shadow transaction sets `search_path` to the shadow schema alone (pg_catalog is always searched
 * first, implicitly), with SET LOCAL semantics, from its first `apply` to its end. Two things follow:
 * - a projection that touched a table it does not list in `tables` fails loudly ("relation does
 *   not exist") instead of writing to a live table behind the rebuild's back;
 * - the journal's deferred constraint triggers (migrations/0010), which run at commit and name
 *   journal_entries / journal_postings unqualified, check the shadow tables, because the path is
 *   still the shadow's at commit. Everything else a shadow transaction runs names its tables with
 *   their schema, so it never depends on the path.
 *
 * How the copies are made. `CREATE TABLE … (LIKE live INCLUDING ALL EXCLUDING INDEXES)` copies
 * columns, defaults, NOT NULL and CHECK constraints (with their names), identity, generated columns,
 * storage and comments. It does not copy: indexes under their own names (LIKE would invent names),
 * primary key / unique / exclusion constraints (they are indexes), foreign keys, triggers (the
 * journal's append-only and deferred balance triggers), reloptions, the owner and the grants. Those
 * are copied from the catalog (pg_get_constraintdef / pg_get_indexdef / pg_get_triggerdef, printed
 * with search_path = pg_catalog so every name comes schema-qualified, then pointed at the shadow),
 * so the copies carry exactly the live names: after a swap the live schema looks as it did. A
 * foreign key to another table of the same projection points at that table's copy. Then the
 * structure of the copies is compared with the live one (`describeTables`), and any difference
 * stops the build: a swap must never change the schema.
 *
 * Not supported, and refused by the DROP of the swap rather than silently changed: a `serial`
 * column (its sequence belongs to the live table, which the swap drops, while the copy's default
 * still uses it). Read models have none; an identity column would be copied with a sequence of its own.
 */

/** Where `projections rebuild` builds; an interrupted rebuild stays here and resumes. */
export const REBUILD_SCHEMA = 'projection_rebuild';
/** Where `projections verify` builds; dropped when it ends. */
export const VERIFY_SCHEMA = 'projection_verify';
/** The shadow schema's own checkpoints, one row per projection built there. */
const SHADOW_CHECKPOINTS = 'shadow_checkpoints';

export interface ShadowCheckpoint {
  readonly projectionName: string;
  /** The last position applied to the shadow tables (or known to hold nothing for them); null before any. */
  readonly position: bigint | null;
  readonly eventsApplied: bigint;
  /** md5 of the live tables' structure the copies were made from: a migration since makes them stale. */
  readonly structureMd5: string;
  readonly startedAt: Date;
  readonly updatedAt: Date;
}

const checkpointRow = z.object({
  projection_name: z.string(),
  position: z.bigint().nullable(),
  events_applied: z.bigint(),
  structure_md5: z.string(),
  started_at: z.date(),
  updated_at: z.date(),
});

function toCheckpoint(row: z.infer<typeof checkpointRow>): ShadowCheckpoint {
  return {
    projectionName: row.projection_name,
    position: row.position,
    eventsApplied: row.events_applied,
    structureMd5: row.structure_md5,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The schema the read models live in: the one their unqualified names resolve to for the pool's
 * connections (the projector's and the query API's), normally `public`. Every table listed must be
 * there, or a swap would put a copy where nobody reads it.
 */
export async function liveSchemaOf(connection: CommonQueryMethods, projections: readonly Projection[]): Promise<string> {
  const schema = await connection.oneFirst(sql.type(z.object({ schema: z.string() }))`SELECT current_schema() AS schema`);
  const tables = projections.flatMap((projection) => projection.tables);
  const missing = await connection.anyFirst(sql.type(z.object({ table_name: z.string() }))`
    SELECT t AS table_name FROM unnest(${sql.array(tables, 'text')}) AS t
     WHERE to_regclass(format('%I.%I', ${schema}::text, t)) IS NULL`);
  if (missing.length > 0) throw new Error(`Read model tables ${missing.join(', ')} are not in schema ${schema}: run the migrations first`);
  return schema;
}

/** The tables of `projections`, checked to be owned by one projection each and to be ordinary names. */
export function ownedTables(projections: readonly Projection[]): string[] {
  const tables = projections.flatMap((projection) => projection.tables);
  if (new Set(tables).size !== tables.length) throw new Error('Two projections list the same table');
  if (tables.includes(SHADOW_CHECKPOINTS)) throw new Error(`A projection owns a table named ${SHADOW_CHECKPOINTS}, which shadow schemas use`);
  return tables;
}

/**
 * A statement whose text PostgreSQL printed itself (pg_get_*def, identifiers quoted by it), changed
 * only in the schema of the names this module replaces. Never used with text from outside.
 */
function catalogStatement(text: string) {
  // What a tagged template passes: the parts and their frozen raw twin (slonik checks for both).
  const strings = Object.freeze(Object.assign([text], { raw: Object.freeze([text]) })) as unknown as TemplateStringsArray;
  return sql.unsafe(strings);
}

/** `a.b` as PostgreSQL prints it (quote_ident), for finding it in a definition. */
async function qualifiedNames(connection: CommonQueryMethods, schema: string, tables: readonly string[]): Promise<Map<string, string>> {
  const rows = await connection.any(sql.type(z.object({ table_name: z.string(), qualified: z.string() }))`
    SELECT t AS table_name, format('%I.%I', ${schema}::text, t) AS qualified FROM unnest(${sql.array(tables, 'text')}) AS t`);
  return new Map(rows.map((row) => [row.table_name, row.qualified]));
}

/** Replaces whole-name occurrences of `from` (a qualified name) in `text`. */
function replaceName(text: string, from: string, to: string): string {
  const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(`(?<![A-Za-z0-9_$"])${escaped}(?![A-Za-z0-9_$"])`, 'g'), to);
}

const structureRow = z.object({
  table_name: z.string(),
  relkind: z.string(),
  owner: z.string(),
  reloptions: z.string(),
  row_security: z.string(),
  columns: z.array(z.string()),
  constraints: z.array(z.string()),
  indexes: z.array(z.string()),
  triggers: z.array(z.string()),
  grants: z.array(z.string()),
});

/**
 * The structure of `tables` in `schema` as text: columns (type, NOT NULL, default, collation,
 * identity, generated), constraints (all but PostgreSQL 18's named NOT NULL ones, which the columns
 * already say), indexes, user triggers, reloptions, row security, owner and grants. The schema's own
 * name is taken out of the qualified names of these tables, so a shadow copy describes exactly as
 * its live table does. Runs with search_path = pg_catalog, set locally in `transaction`.
 */
export async function describeTables(transaction: DatabaseTransactionConnection, schema: string, tables: readonly string[]): Promise<string> {
  await setLocal(transaction, 'search_path', 'pg_catalog');
  const rows = await transaction.any(sql.type(structureRow)`
    SELECT c.relname AS table_name, c.relkind::text AS relkind, c.relowner::regrole::text AS owner,
           coalesce(array_to_string(c.reloptions, ','), '') AS reloptions,
           format('%s/%s', c.relrowsecurity, c.relforcerowsecurity) AS row_security,
           ARRAY(SELECT format('%I %s%s%s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                               CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                               coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''),
                               CASE WHEN a.attcollation <> ty.typcollation THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END,
                               CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END,
                               CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END)
                   FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
           ARRAY(SELECT format('%I %s', co.conname, pg_get_constraintdef(co.oid))
                   FROM pg_constraint co WHERE co.conrelid = c.oid AND co.contype <> 'n' ORDER BY co.conname) AS constraints,
           ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                  WHERE i.indrelid = c.oid ORDER BY ic.relname) AS indexes,
           ARRAY(SELECT pg_get_triggerdef(tg.oid) FROM pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal ORDER BY tg.tgname) AS triggers,
           ARRAY(SELECT format('%s %s%s', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END, x.privilege_type,
                               CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                   FROM aclexplode(c.relacl) x WHERE x.grantee <> c.relowner ORDER BY 1) AS grants
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} AND c.relname = ANY (${sql.array(tables, 'text')})
     ORDER BY c.relname`);
  const found = new Set(rows.map((row) => row.table_name));
  const missing = tables.filter((table) => !found.has(table));
  if (missing.length > 0) throw new Error(`Tables ${missing.join(', ')} are missing from schema ${schema}`);
  const names = await qualifiedNames(transaction, schema, tables);
  const unqualify = (text: string): string => {
    let result = text;
    for (const [table, qualified] of names) result = replaceName(result, qualified, `"<schema>".${JSON.stringify(table)}`);
    return result;
  };
  return JSON.stringify(
    rows.map((row) => ({
      ...row,
      constraints: row.constraints.map(unqualify),
      indexes: row.indexes.map(unqualify),
      triggers: row.triggers.map(unqualify),
    })),
    null,
    1,
  );
}

export function structureMd5(description: string): string {
  return createHash('md5').update(description).digest('hex');
}

/**
 * Creates empty copies of `tables` (from `liveSchema`) in `shadowSchema`, with the live names of
 * every constraint, index and trigger, and checks that they describe exactly as the live ones.
 * Answers the live structure's description. Runs in `transaction`, with search_path = pg_catalog.
 *
 * `deferIndexes`: the plain (non-unique) indexes are left out, to be made by createDeferredIndexes
 * once the copies are built; the copies then describe as the live tables without them. Keys, unique
 * indexes (what ON CONFLICT and the lookups of the projections use) and everything else are made now.
 */
export async function createShadowTables(
  transaction: DatabaseTransactionConnection,
  liveSchema: string,
  shadowSchema: string,
  tables: readonly string[],
  options: { readonly deferIndexes?: boolean } = {},
): Promise<string> {
  // Also sets search_path = pg_catalog, so the definitions below name every table with its schema.
  const live = await describeTables(transaction, liveSchema, tables);
  const liveNames = await qualifiedNames(transaction, liveSchema, tables);
  const shadowNames = await qualifiedNames(transaction, shadowSchema, tables);
  const toShadow = (definition: string): string => {
    let result = definition;
    for (const table of tables) result = replaceName(result, liveNames.get(table) as string, shadowNames.get(table) as string);
    return result;
  };
  for (const table of tables) {
    await transaction.query(sql.unsafe`
      CREATE TABLE ${sql.identifier([shadowSchema, table])} (LIKE ${sql.identifier([liveSchema, table])} INCLUDING ALL EXCLUDING INDEXES)`);
  }
  const definitions = await transaction.any(sql.type(z.object({ table_name: z.string(), kind: z.string(), name: z.string(), definition: z.string() }))`
    SELECT c.relname AS table_name, 'constraint-' || co.contype::text AS kind, co.conname AS name, pg_get_constraintdef(co.oid) AS definition
      FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND co.contype IN ('p', 'u', 'x', 'f')
    UNION ALL
    SELECT c.relname, CASE WHEN i.indisunique THEN 'index' ELSE 'index-plain' END, ic.relname, pg_get_indexdef(i.indexrelid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')})
       AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid AND co.contype IN ('p', 'u', 'x'))
    UNION ALL
    SELECT c.relname, 'trigger', tg.tgname, pg_get_triggerdef(tg.oid)
      FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND NOT tg.tgisinternal
    UNION ALL
    SELECT c.relname, 'reloptions', '', array_to_string(c.reloptions, ', ')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND c.reloptions IS NOT NULL
    UNION ALL
    SELECT c.relname, 'owner', '', c.relowner::regrole::text
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND c.relowner <> (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
    UNION ALL
    SELECT c.relname, 'grant', '', format('%s ON %I.%I TO %s%s', x.privilege_type, ${shadowSchema}::text, c.relname,
                                         CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END,
                                         CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) x
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND x.grantee <> c.relowner`);
  // Keys and unique constraints first, so that foreign keys find what they reference.
  const order = ['constraint-p', 'constraint-u', 'constraint-x', 'constraint-f', 'index', 'index-plain', 'trigger', 'reloptions', 'grant', 'owner'];
  const sorted = [...definitions]
    .filter((item) => !(options.deferIndexes === true && item.kind === 'index-plain'))
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const item of sorted) {
    const target = shadowNames.get(item.table_name) as string;
    let statement: string;
    if (item.kind.startsWith('constraint-')) {
      statement = `ALTER TABLE ${target} ADD CONSTRAINT ${await quoteIdent(transaction, item.name)} ${toShadow(item.definition)}`;
    } else if (item.kind === 'index' || item.kind === 'index-plain' || item.kind === 'trigger') {
      statement = toShadow(item.definition);
      if (!statement.includes(` ON ${target} `) && !statement.includes(` ON ONLY ${target} `)) {
        throw new Error(`Could not point the ${item.kind} ${item.name} of ${item.table_name} at the shadow table: ${item.definition}`);
      }
    } else if (item.kind === 'reloptions') {
      statement = `ALTER TABLE ${target} SET (${item.definition})`;
    } else if (item.kind === 'grant') {
      statement = `GRANT ${item.definition}`;
    } else {
      statement = `ALTER TABLE ${target} OWNER TO ${item.definition}`;
    }
    await transaction.query(catalogStatement(statement));
  }
  const shadow = await describeTables(transaction, shadowSchema, tables);
  const expected = options.deferIndexes === true ? withoutIndexes(live, await plainIndexNames(transaction, liveSchema, tables)) : live;
  assertSameStructure(expected, shadow, tables);
  return live;
}

/** The plain indexes of `tables`: neither unique nor the index of a constraint (quoted as pg_get_indexdef prints them). */
async function plainIndexNames(connection: CommonQueryMethods, schema: string, tables: readonly string[]): Promise<Set<string>> {
  return new Set(
    await connection.anyFirst(sql.type(z.object({ name: z.string() }))`
      SELECT quote_ident(ic.relname) AS name
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class ic ON ic.oid = i.indexrelid
       WHERE n.nspname = ${schema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND NOT i.indisunique
         AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)`),
  );
}

/**
 * Makes the plain indexes createShadowTables(…, { deferIndexes: true }) left out, from the live
 * definitions, and checks that the copies now describe exactly as the live tables. Building an
 * index once over the finished rows costs a fraction of keeping it up to date through every batch,
 * as a bulk load does; it is done before the swap, outside its lock. Indexes already there (a
 * resumed rebuild that made them before it was stopped) are left as they are.
 */
export async function createDeferredIndexes(
  transaction: DatabaseTransactionConnection,
  liveSchema: string,
  shadowSchema: string,
  tables: readonly string[],
): Promise<void> {
  // Also sets search_path = pg_catalog, so the definitions below name every table with its schema.
  const live = await describeTables(transaction, liveSchema, tables);
  const liveNames = await qualifiedNames(transaction, liveSchema, tables);
  const shadowNames = await qualifiedNames(transaction, shadowSchema, tables);
  const missing = await transaction.any(sql.type(z.object({ table_name: z.string(), definition: z.string() }))`
    SELECT c.relname AS table_name, pg_get_indexdef(i.indexrelid) AS definition
      FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE n.nspname = ${liveSchema} AND c.relname = ANY (${sql.array(tables, 'text')}) AND NOT i.indisunique
       AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid)
       AND to_regclass(format('%I.%I', ${shadowSchema}::text, ic.relname)) IS NULL
     ORDER BY ic.relname`);
  for (const item of missing) {
    let statement = item.definition;
    for (const table of tables) statement = replaceName(statement, liveNames.get(table) as string, shadowNames.get(table) as string);
    const target = shadowNames.get(item.table_name) as string;
    if (!statement.includes(` ON ${target} `) && !statement.includes(` ON ONLY ${target} `)) {
      throw new Error(`Could not point the index of ${item.table_name} at the shadow table: ${item.definition}`);
    }
    await transaction.query(catalogStatement(statement));
  }
  assertSameStructure(live, await describeTables(transaction, shadowSchema, tables), tables);
}

/** A description (describeTables) without the indexes named, as the copies are while those are deferred. */
function withoutIndexes(description: string, names: ReadonlySet<string>): string {
  const rows = JSON.parse(description) as Array<{ indexes: string[] }>;
  const nameOf = (definition: string): string | undefined => /^CREATE (?:UNIQUE )?INDEX (\S+) ON /.exec(definition)?.[1];
  return JSON.stringify(
    rows.map((row) => ({ ...row, indexes: row.indexes.filter((definition) => !names.has(nameOf(definition) ?? '')) })),
    null,
    1,
  );
}

function assertSameStructure(live: string, shadow: string, tables: readonly string[]): void {
  if (shadow !== live) {
    const liveLines = live.split('\n');
    const shadowLines = shadow.split('\n');
    const index = liveLines.findIndex((line, i) => line !== shadowLines[i]);
    throw new Error(
      `The shadow copies of ${tables.join(', ')} differ from the live tables (live: ${liveLines[index]?.trim()}; copy: ${shadowLines[index]?.trim()}); ` +
        'a rebuild would change the schema, so it stops here',
    );
  }
}

async function quoteIdent(connection: CommonQueryMethods, name: string): Promise<string> {
  return connection.oneFirst(sql.type(z.object({ quoted: z.string() }))`SELECT quote_ident(${name}) AS quoted`);
}

/** Sets a setting until the end of `transaction` (SET LOCAL). */
export async function setLocal(transaction: DatabaseTransactionConnection, name: string, value: string): Promise<void> {
  await transaction.query(sql.unsafe`SELECT set_config(${name}, ${value}, true)`);
}

/**
 * Points unqualified names at `schema` alone until the end of `transaction` (see the header), with
 * the other settings of a batch's transaction (batch-settings.ts), in one round trip.
 */
export async function useShadowSearchPath(transaction: DatabaseTransactionConnection, schema: string): Promise<void> {
  await setBatchSettings(transaction, { searchPath: schema });
}

/** Creates the shadow schema and its checkpoint table when missing. */
export async function ensureShadowSchema(transaction: DatabaseTransactionConnection, schema: string): Promise<void> {
  await transaction.query(sql.unsafe`CREATE SCHEMA IF NOT EXISTS ${sql.identifier([schema])}`);
  await transaction.query(sql.unsafe`
    CREATE TABLE IF NOT EXISTS ${sql.identifier([schema, SHADOW_CHECKPOINTS])} (
      projection_name text PRIMARY KEY,
      position        bigint,
      events_applied  bigint NOT NULL DEFAULT 0,
      structure_md5   text NOT NULL,
      started_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function dropShadowSchema(connection: CommonQueryMethods, schema: string): Promise<void> {
  await connection.query(sql.unsafe`DROP SCHEMA IF EXISTS ${sql.identifier([schema])} CASCADE`);
}

/** The shadow checkpoint of `name`; null when the schema or the row is missing. */
export async function readShadowCheckpoint(connection: CommonQueryMethods, schema: string, name: string): Promise<ShadowCheckpoint | null> {
  const exists = await connection.oneFirst(sql.type(z.object({ exists: z.boolean() }))`
    SELECT to_regclass(format('%I.%I', ${schema}::text, ${SHADOW_CHECKPOINTS}::text)) IS NOT NULL AS exists`);
  if (!exists) return null;
  const row = await connection.maybeOne(sql.type(checkpointRow)`
    SELECT projection_name, position, events_applied, structure_md5, started_at, updated_at
      FROM ${sql.identifier([schema, SHADOW_CHECKPOINTS])} WHERE projection_name = ${name}`);
  return row === null ? null : toCheckpoint(row);
}

export async function deleteShadowCheckpoint(connection: CommonQueryMethods, schema: string, name: string): Promise<void> {
  await connection.query(sql.unsafe`DELETE FROM ${sql.identifier([schema, SHADOW_CHECKPOINTS])} WHERE projection_name = ${name}`);
}

export interface PreparedShadow {
  readonly checkpoint: ShadowCheckpoint;
  /** True when an earlier, interrupted build is carried on from its checkpoint. */
  readonly resumed: boolean;
}

/**
 * Makes `schema` ready to build `projection`: resumes an earlier build there when its copies were
 * made from the live structure as it is now (no migration since) and `restart` is not asked;
 * otherwise drops whatever is there of it and makes fresh, empty copies at position null.
 */
export async function prepareShadow(
  pool: DatabasePool,
  projection: Projection,
  liveSchema: string,
  schema: string,
  options: { readonly restart?: boolean; readonly deferIndexes?: boolean } = {},
): Promise<PreparedShadow> {
  return pool.transaction(async (transaction) => {
    await ensureShadowSchema(transaction, schema);
    const earlier = await readShadowCheckpoint(transaction, schema, projection.name);
    const live = await describeTables(transaction, liveSchema, projection.tables);
    if (earlier !== null && options.restart !== true && earlier.structureMd5 === structureMd5(live)) {
      const present = await transaction.oneFirst(sql.type(z.object({ present: z.boolean() }))`
        SELECT bool_and(to_regclass(format('%I.%I', ${schema}::text, t)) IS NOT NULL) AS present
          FROM unnest(${sql.array(projection.tables, 'text')}) AS t`);
      // A rebuild stopped before it made its deferred indexes has copies without them.
      const shadow = present ? await describeTables(transaction, schema, projection.tables) : null;
      const deferred = options.deferIndexes === true ? withoutIndexes(live, await plainIndexNames(transaction, liveSchema, projection.tables)) : null;
      if (shadow !== null && (shadow === live || shadow === deferred)) {
        return { checkpoint: earlier, resumed: true };
      }
    }
    await transaction.query(sql.unsafe`DROP TABLE IF EXISTS ${sql.join(
      projection.tables.map((table) => sql.identifier([schema, table])),
      sql.fragment`, `,
    )}`);
    const description = await createShadowTables(transaction, liveSchema, schema, projection.tables, { deferIndexes: options.deferIndexes });
    const row = await transaction.one(sql.type(checkpointRow)`
      INSERT INTO ${sql.identifier([schema, SHADOW_CHECKPOINTS])} AS c (projection_name, position, events_applied, structure_md5)
      VALUES (${projection.name}, NULL, 0, ${structureMd5(description)})
      ON CONFLICT (projection_name) DO UPDATE
        SET position = NULL, events_applied = 0, structure_md5 = EXCLUDED.structure_md5, started_at = now(), updated_at = now()
      RETURNING projection_name, position, events_applied, structure_md5, started_at, updated_at`);
    return { checkpoint: toCheckpoint(row), resumed: false };
  });
}

/**
 * Applies `events` to the shadow copies and moves the shadow checkpoint past them, in
 * `transaction`. The checkpoint must still be at `expected`: two builders of one shadow would
 * otherwise interleave (the callers hold an advisory lock, so this is a guard, not a protocol).
 */
export async function applyToShadow(
  transaction: DatabaseTransactionConnection,
  schema: string,
  projection: Projection,
  events: readonly RecordedEvent[],
  expected: bigint | null,
  to: bigint,
): Promise<void> {
  if (events.length > 0) {
    await useShadowSearchPath(transaction, schema);
    await projection.apply(transaction, events);
  }
  const moved = await transaction.query(sql.unsafe`
    UPDATE ${sql.identifier([schema, SHADOW_CHECKPOINTS])}
       SET position = ${to.toString()}::bigint, events_applied = events_applied + ${events.length}, updated_at = now()
     WHERE projection_name = ${projection.name} AND position IS NOT DISTINCT FROM ${expected === null ? null : expected.toString()}::bigint`);
  if (moved.rowCount !== 1) throw new Error(`The shadow checkpoint of ${projection.name} in ${schema} moved under this build`);
}

export interface BuildOptions {
  /** Events read and applied in one transaction, at most. */
  readonly batchSizeMax: number;
  /** Checked between batches: an aborted build stops after the batch it is in, committed. */
  readonly signal?: AbortSignal;
  /** After each committed batch. */
  readonly onBatch?: (progress: { readonly position: bigint; readonly events: number }) => void;
}

export interface BuildResult {
  /** The shadow checkpoint now. */
  readonly position: bigint | null;
  /** Events applied by this call. */
  readonly events: number;
  readonly interrupted: boolean;
}

/**
 * Brings the shadow copies of `projection` up to `to`, inclusive: every event of the projection's
 * filter after the shadow checkpoint and not after `to` is applied, in batches of at most
 * `batchSizeMax`, and the checkpoint ends at `to`. `to` must be final (the store's head, or a
 * checkpoint, read before): no event at or below it can still appear, so having read them all the
 * build may say it holds everything up to there.
 *
 * `transaction` given: every batch goes into it (the catch-up under a swap or a comparison lock).
 * Otherwise each batch commits in its own transaction, so an interrupted build keeps what it did.
 * A batch that fails is named in the error (cannotApply); in its own transaction it is applied again
 * one event at a time first, keeping the events before the one that fails, which the error names.
 * The next batch is read while one is applied.
 */
export async function buildShadow(
  pool: DatabasePool,
  store: EventStore,
  projection: Projection,
  schema: string,
  to: bigint | null,
  options: BuildOptions,
  transaction?: DatabaseTransactionConnection,
): Promise<BuildResult> {
  if (!Number.isInteger(options.batchSizeMax) || options.batchSizeMax < 1) throw new Error('batchSizeMax must be a positive integer');
  const start = await readShadowCheckpoint(transaction ?? pool, schema, projection.name);
  if (start === null) throw new Error(`${projection.name} has no shadow in ${schema}`);
  let position = start.position;
  let events = 0;
  if (to === null || (position !== null && position >= to)) return { position, events, interrupted: false };
  const read = (from: bigint | null): Promise<RecordedEvent[]> =>
    store.readAll({ fromPosition: from, maxCount: options.batchSizeMax, filter: projection.filter });
  const commit = (work: (connection: DatabaseTransactionConnection) => Promise<void>): Promise<void> =>
    transaction === undefined ? pool.transaction(work) : work(transaction);
  let pending: Promise<RecordedEvent[]> | null = read(position);
  try {
    while (pending !== null) {
      if (options.signal?.aborted === true) return { position, events, interrupted: true };
      const batch: RecordedEvent[] = await pending;
      const wanted = batch.filter((event) => event.position <= to);
      const last = wanted.length < batch.length || batch.length < options.batchSizeMax;
      pending = last ? null : read(wanted[wanted.length - 1].position);
      // The last batch also moves the checkpoint on to `to`, past events the projection does not read.
      const next = last ? to : wanted[wanted.length - 1].position;
      const expected = position;
      try {
        await commit((connection) => applyToShadow(connection, schema, projection, wanted, expected, next));
      } catch (error) {
        // In a transaction of the caller's, a failed statement ends it: the batch is named whole.
        if (wanted.length === 0) throw error;
        if (transaction !== undefined || wanted.length === 1) throw cannotApply(projection, wanted, error);
        // Otherwise the events one at a time, as the projector does: those before the one that
        // fails are kept (a rebuild resumes after them), and the message names that one.
        for (const event of wanted) {
          const before = position;
          await pool.transaction((connection) => applyToShadow(connection, schema, projection, [event], before, event.position)).catch((failure: unknown) => {
            throw cannotApply(projection, [event], failure);
          });
          position = event.position;
          events += 1;
          options.onBatch?.({ position, events });
        }
        const before = position;
        await pool.transaction((connection) => applyToShadow(connection, schema, projection, [], before, next));
        position = next;
        options.onBatch?.({ position, events });
        continue;
      }
      position = next;
      events += wanted.length;
      options.onBatch?.({ position, events });
    }
  } finally {
    // A read still in flight when we leave (aborted, or a batch failed) is not awaited by anyone.
    pending?.catch(() => undefined);
  }
  return { position, events, interrupted: false };
}

/**
 * A batch the projection failed to apply, named for the operator: the projection, and the event
 * (position, type, stream) when the batch is that one event, else the batch's first and last positions.
 */
function cannotApply(projection: Projection, events: readonly RecordedEvent[], error: unknown): Error {
  const what =
    events.length === 1
      ? `the event at position ${events[0].position.toString()} (${events[0].type} of ${events[0].streamName})`
      : `one of the ${events.length} events at positions ${events[0].position.toString()} to ${events[events.length - 1].position.toString()}`;
  return new Error(`${projection.name} cannot apply ${what}: ${messageOf(error)}`, { cause: error });
}

/** Rows in each of `tables` of `schema`. */
export async function countRows(connection: CommonQueryMethods, schema: string, tables: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    counts.set(table, Number(await connection.oneFirst(sql.type(z.object({ rows: z.bigint() }))`
      SELECT count(*) AS rows FROM ${sql.identifier([schema, table])}`)));
  }
  return counts;
}

/** The SQLSTATE of a database error, looked for through slonik's wrapping; null for other errors. */
export function sqlStateOf(error: unknown): string | null {
  for (let current: unknown = error, depth = 0; current !== null && current !== undefined && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Whether the server ended the transaction's session because it sat idle past its
 * idle_in_transaction_session_timeout (25P03): its process was stopped or stalled meanwhile.
 */
export function endedIdle(error: unknown): boolean {
  return error instanceof IdleTransactionTimeoutError || sqlStateOf(error) === '25P03';
}

/**
 * A command's transaction that held `projection`'s checkpoint row sat idle past its bound (the
 * process was stopped, or its machine or network stalled) and the database ended it, so that the
 * live projector could go on. It rolled back; `outcome` says what that leaves, for the operator.
 */
export function stalledHoldingCheckpoint(code: string, what: string, projection: Projection, idleTimeoutMs: number, outcome: string): DomainError {
  return new DomainError(
    code,
    `The ${what} of ${projection.name} sat idle for over ${(idleTimeoutMs / 1000).toFixed(0)} s ` +
      `(PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS) while it held the checkpoint row of ${projection.name}, and the database ended it ` +
      `so that the live projector could go on (was this command stopped, or its machine or network stalled?). ${outcome}`,
    409,
  );
}
