import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';
import { DomainError } from '../errors/domain-error';
import { type EventStore } from '../event-store/event-store.port';

const checkpointRow = z.object({
  projection_name: z.string(),
  position: z.bigint().nullable(),
  events_applied: z.bigint(),
  updated_at: z.date(),
});

export type CheckpointRow = z.infer<typeof checkpointRow>;

export async function readCheckpoint(connection: CommonQueryMethods, name: string): Promise<bigint | null> {
  const row = await connection.maybeOne(
    sql.type(checkpointRow)`SELECT projection_name, position, events_applied, updated_at
      FROM projection_checkpoints WHERE projection_name = ${name}`,
  );
  return row?.position ?? null;
}

export async function readCheckpoints(connection: CommonQueryMethods): Promise<readonly CheckpointRow[]> {
  return connection.any(
    sql.type(checkpointRow)`SELECT projection_name, position, events_applied, updated_at
      FROM projection_checkpoints ORDER BY projection_name`,
  );
}

/** Locks the projection's checkpoint row for the rest of the transaction and returns it. */
export async function lockCheckpoint(connection: CommonQueryMethods, name: string): Promise<bigint | null> {
  await connection.query(sql.unsafe`INSERT INTO projection_checkpoints (projection_name, position)
    VALUES (${name}, NULL) ON CONFLICT (projection_name) DO NOTHING`);
  const row = await connection.one(
    sql.type(checkpointRow)`SELECT projection_name, position, events_applied, updated_at
      FROM projection_checkpoints WHERE projection_name = ${name} FOR UPDATE`,
  );
  return row.position;
}

export async function writeCheckpoint(
  connection: CommonQueryMethods,
  name: string,
  position: bigint | null,
  eventsApplied: number,
): Promise<void> {
  await connection.query(sql.unsafe`UPDATE projection_checkpoints
    SET position = ${position === null ? null : position.toString()}::bigint,
        events_applied = CASE WHEN ${position === null} THEN 0 ELSE events_applied + ${eventsApplied} END,
        updated_at = now()
    WHERE projection_name = ${name}`);
}

/**
 * Waits until the projection has applied the event at `position` (SPEC §5 `?minPosition=`),
 * polling its committed checkpoint. Returns false when `timeoutMs` passes first.
 */
export async function waitForCheckpoint(
  connection: CommonQueryMethods,
  name: string,
  position: bigint,
  timeoutMs: number,
  pollIntervalMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checkpoint = await readCheckpoint(connection, name);
    if (checkpoint !== null && checkpoint >= position) return true;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, remaining)));
  }
}

/**
 * `?minPosition=` for a query that reads `names`: waits for each read model in turn, all within
 * one `timeoutMs`, and refuses with 503 `read_model_behind` if one has not caught up by then: a
 * state that passes. A position beyond the last event stored never passes, because no command
 * returned it: that is bad input, 422 `invalid_min_position`, not a 503 inviting the caller to
 * retry forever. It is compared with the last position stored, not the head, which stops before an
 * older append still in flight while a command's event after it is committed and answered; and
 * only after the wait has run out, as the usual case costs nothing then.
 */
export async function awaitReadModels(
  connection: CommonQueryMethods,
  store: Pick<EventStore, 'lastPosition'>,
  names: readonly string[],
  minPosition: bigint | null,
  timeoutMs: number,
): Promise<void> {
  if (minPosition === null) return;
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    if (!(await waitForCheckpoint(connection, name, minPosition, Math.max(0, deadline - Date.now())))) {
      const last = await store.lastPosition().catch(() => undefined);
      if (last !== undefined && (last === null || minPosition > last)) {
        throw new DomainError(
          'invalid_min_position',
          `minPosition ${minPosition.toString()} is beyond the last event stored (${last?.toString() ?? 'none yet'}): no command returned it`,
          422,
        );
      }
      throw new DomainError(
        'read_model_behind',
        `The ${name} read model has not reached position ${minPosition.toString()} yet; retry shortly`,
        503,
      );
    }
  }
}
