/**
 * The P1 baseline: a bare fastify + pg server with the ledger's two kill routes, doing only the
 * durable part of the work. Each request becomes one INSERT (one transaction, one commit) of as
 * many rows as the ledger appended per observation in the same run, into a table with the columns,
 * constraints and indexes of the ledger's `events` table (migrations/0001_create_event_store.sql).
 * No authentication, no validation beyond the shape, no reading of streams, no decisions: what is
 * left is the price of a durable insert, which the ledger cannot beat.
 *
 * Environment: DATABASE_URL (a database of its own), PORT, POOL_SIZE (the ledger event store's
 * pool size). Each request names the rows to write per observation in the header
 * `x-bench-rows-per-observation`: the events per observation the ledger appended in the slice just
 * before, a mean the server keeps exactly by carrying the fraction from one observation to the next.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { Pool } from 'pg';

const SCHEMA = `
CREATE SEQUENCE IF NOT EXISTS baseline_events_global_position_seq AS bigint MINVALUE 1;
CREATE TABLE IF NOT EXISTS baseline_events (
  global_position bigint PRIMARY KEY,
  stream_name     text NOT NULL,
  stream_category text NOT NULL,
  stream_revision bigint NOT NULL CHECK (stream_revision >= 0),
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  data            jsonb NOT NULL,
  metadata        jsonb NOT NULL,
  transaction_id  xid8 NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT baseline_events_stream_revision_key UNIQUE (stream_name, stream_revision),
  CONSTRAINT baseline_events_event_id_key UNIQUE (event_id)
);
CREATE INDEX IF NOT EXISTS baseline_events_category_position_idx ON baseline_events (stream_category, global_position);
CREATE INDEX IF NOT EXISTS baseline_events_type_position_idx ON baseline_events (event_type, global_position);
`;

const INSERT = `
INSERT INTO baseline_events (global_position, stream_name, stream_category, stream_revision, event_id, event_type, data, metadata, transaction_id)
SELECT nextval('baseline_events_global_position_seq'), r.stream_name, 'user', r.stream_revision, r.event_id, r.event_type, r.data, r.metadata, pg_current_xact_id()
  FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])
    AS r(stream_name, stream_revision, event_id, event_type, data, metadata)`;

const OBSERVATIONS_MAX = 1_000;
/** An observation appends KillsObserved and at most an accrual and a flag or two. */
const ROWS_PER_OBSERVATION_MAX = 10;

interface Observation {
  readonly userId: string;
  readonly lifetimeKills: number;
  readonly observedAt?: string;
}

interface Row {
  readonly streamName: string;
  readonly revision: number;
  readonly type: string;
  readonly data: string;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: requiredEnv('DATABASE_URL'), max: Number(requiredEnv('POOL_SIZE')), application_name: 'bench-baseline' });
  await pool.query(SCHEMA);

  // Revisions come from memory, so rows stay unique per stream without reading the table: the
  // baseline skips the read-before-write the ledger's expected revisions need. An earlier phase's
  // rows in the same table are read once, at start.
  const revisions = new Map<string, number>();
  const stored = await pool.query<{ stream_name: string; next_revision: string }>(
    'SELECT stream_name, (max(stream_revision) + 1)::text AS next_revision FROM baseline_events GROUP BY stream_name',
  );
  for (const row of stored.rows) revisions.set(row.stream_name, Number(row.next_revision));
  let carry = 0;
  const rowsFor = (observation: Observation, rowsPerObservation: number): Row[] => {
    carry += rowsPerObservation;
    const count = Math.floor(carry);
    carry -= count;
    const streamName = `user-${observation.userId.toLowerCase()}`;
    const observedAt = observation.observedAt ?? new Date().toISOString();
    const rows: Row[] = [];
    for (let index = 0; index < count; index += 1) {
      const revision = revisions.get(streamName) ?? 0;
      revisions.set(streamName, revision + 1);
      const kills = observation.lifetimeKills;
      const data =
        index === 0
          ? { userId: observation.userId, epicAccountId: 'e'.repeat(32), lifetimeKills: kills, observedAt, epochMinute: Math.floor(Date.parse(observedAt) / 60_000), skippedUpToKillCount: null }
          : {
              accrualId: randomUUID(), userId: observation.userId, epochMinute: Math.floor(Date.parse(observedAt) / 60_000), kills: 1, fromKillCount: kills - 1,
              toKillCount: kills, ratePerKillRaw: '10000000000000000000000000000', baseRatePerKillRaw: '5000000000000000000000000000', milestoneMultiplier: '1',
              sustainabilityFactor: '2', amountRaw: '10000000000000000000000000000', recordedAt: new Date().toISOString(),
            };
      rows.push({ streamName, revision, type: index === 0 ? 'KillsObserved' : 'AccrualRecorded', data: JSON.stringify(data) });
    }
    return rows;
  };
  const insert = async (rows: readonly Row[], requestId: string): Promise<void> => {
    const metadata = JSON.stringify({ correlationId: requestId, causationId: null, actor: { kind: 'integration', name: 'bench' }, schemaVersion: 1 });
    await pool.query(INSERT, [
      rows.map((row) => row.streamName),
      rows.map((row) => row.revision),
      rows.map(() => randomUUID()),
      rows.map((row) => row.type),
      rows.map((row) => row.data),
      rows.map(() => metadata),
    ]);
  };

  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  const rowsPerObservationOf = (headers: Record<string, string | string[] | undefined>): number | null => {
    const rows = Number(headers['x-bench-rows-per-observation']);
    return rows >= 1 && rows <= ROWS_PER_OBSERVATION_MAX ? rows : null;
  };
  app.post<{ Body: { observations?: Observation[] } }>('/v1/kills/batch', async (request, reply) => {
    const observations = request.body.observations;
    const rows = rowsPerObservationOf(request.headers);
    if (!Array.isArray(observations) || observations.length === 0 || observations.length > OBSERVATIONS_MAX || rows === null) {
      return reply.code(422).send({ code: 'invalid_observations' });
    }
    await insert(observations.flatMap((observation) => rowsFor(observation, rows)), String(request.id));
    return reply.code(200).send({ results: observations.map((observation, index) => ({ index, userId: observation.userId, status: 'recorded' })) });
  });
  app.post<{ Params: { userId: string }; Body: { lifetimeKills?: number; observedAt?: string } }>('/v1/users/:userId/kills', async (request, reply) => {
    const { lifetimeKills, observedAt } = request.body;
    const rows = rowsPerObservationOf(request.headers);
    if (typeof lifetimeKills !== 'number' || rows === null) return reply.code(422).send({ code: 'invalid_lifetime_kills' });
    await insert(rowsFor({ userId: request.params.userId, lifetimeKills, observedAt }, rows), String(request.id));
    return reply.code(202).send({ accrual: null });
  });
  await app.listen({ port: Number(requiredEnv('PORT')), host: '127.0.0.1' });
  process.stdout.write('baseline listening\n');

  const stop = (): void => {
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`baseline failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
