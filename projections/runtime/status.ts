import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { readCheckpoints } from '../../src/platform/read-models/checkpoints';
import { type Projection } from './projection';
import { measureLag } from './projector';
import { REBUILD_LOCK } from './rebuild';
import { readShadowCheckpoint, REBUILD_SCHEMA } from './shadow-schema';

/*
 * `projections status`: where each projection stands, from what the database and the store say.
 * The projector runs in the service (or in `npm run start:projector`), not in the CLI, so its
 * in-memory state (running, retrying) is not visible here; the committed checkpoints are, and they
 * are what the query API waits on.
 *
 * - checkpoint: the position of the last event applied (or skipped past), as committed;
 * - events behind: the events of the projection's filter stored after the checkpoint, counted up to
 *   `countMax` (then shown as "countMax+"), since counting means reading them;
 * - seconds behind: the age of the oldest of them (measureLag, as GET /health/ready reports it);
 * - state: "caught up" when none is waiting, "never run" when the projection has none applied yet
 *   and some waiting, else "behind";
 * - a rebuild in the rebuild schema, and how far it got: running (another session holds the
 *   rebuild lock) or interrupted and waiting to be resumed.
 */

export type ProjectionState = 'caught up' | 'behind' | 'never run';

export interface ProjectionStatusLine {
  readonly name: string;
  readonly tables: readonly string[];
  readonly checkpoint: bigint | null;
  readonly eventsApplied: bigint;
  /** When the checkpoint was last committed; null when it never was. */
  readonly updatedAt: Date | null;
  readonly eventsBehind: number;
  /** True when `eventsBehind` stopped counting at the bound: there are at least that many. */
  readonly eventsBehindAtLeast: boolean;
  readonly secondsBehind: number;
  readonly state: ProjectionState;
  /** A rebuild of it in the rebuild schema: running now, or interrupted and resumable. */
  readonly rebuild: {
    readonly running: boolean;
    readonly position: bigint | null;
    readonly eventsApplied: bigint;
    readonly startedAt: Date;
    readonly updatedAt: Date;
  } | null;
}

export interface StatusReport {
  readonly head: bigint | null;
  readonly projections: readonly ProjectionStatusLine[];
}

export async function projectionsStatus(
  pool: DatabasePool,
  store: EventStore,
  projections: readonly Projection[],
  options: { readonly countMax?: number; readonly now?: Date } = {},
): Promise<StatusReport> {
  const countMax = options.countMax ?? 10_000;
  const now = options.now ?? new Date();
  const head = await store.headPosition();
  const checkpoints = new Map((await readCheckpoints(pool)).map((row) => [row.projection_name, row]));
  const lags = new Map((await measureLag(pool, store, projections, now)).map((lag) => [lag.name, lag]));
  // Two-integer advisory keys show in pg_locks as classid, objid and objsubid 2.
  const rebuilding = await pool.oneFirst(sql.type(z.object({ held: z.boolean() }))`
    SELECT EXISTS (SELECT 1 FROM pg_locks l
                    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                      AND l.classid = ${REBUILD_LOCK[0]} AND l.objid = ${REBUILD_LOCK[1]}
                      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())) AS held`);
  const lines: ProjectionStatusLine[] = [];
  for (const projection of projections) {
    const row = checkpoints.get(projection.name);
    const checkpoint = row?.position ?? null;
    const behind = await countEventsAfter(store, projection, checkpoint, countMax);
    const lag = lags.get(projection.name);
    const caughtUp = behind.count === 0;
    const rebuild = await readShadowCheckpoint(pool, REBUILD_SCHEMA, projection.name);
    lines.push({
      name: projection.name,
      tables: projection.tables,
      checkpoint,
      eventsApplied: row?.events_applied ?? 0n,
      updatedAt: row?.updated_at ?? null,
      eventsBehind: behind.count,
      eventsBehindAtLeast: behind.atLeast,
      secondsBehind: caughtUp ? 0 : lag?.lagSeconds ?? 0,
      state: caughtUp ? 'caught up' : checkpoint === null ? 'never run' : 'behind',
      rebuild:
        rebuild === null
          ? null
          : { running: rebuilding, position: rebuild.position, eventsApplied: rebuild.eventsApplied, startedAt: rebuild.startedAt, updatedAt: rebuild.updatedAt },
    });
  }
  return { head, projections: lines };
}

async function countEventsAfter(
  store: EventStore,
  projection: Projection,
  checkpoint: bigint | null,
  countMax: number,
): Promise<{ count: number; atLeast: boolean }> {
  const pageSizeMax = 1_000;
  let count = 0;
  let from = checkpoint;
  for (;;) {
    // One past the bound, to know whether there are more.
    const wanted = Math.min(pageSizeMax, countMax + 1 - count);
    const page = await store.readAll({ fromPosition: from, maxCount: wanted, filter: projection.filter });
    count += page.length;
    if (count > countMax) return { count: countMax, atLeast: true };
    if (page.length < wanted) return { count, atLeast: false };
    from = page[page.length - 1].position;
  }
}

export function formatStatus(report: StatusReport): string {
  const lines = [
    `${'projection'.padEnd(22)} ${'checkpoint'.padStart(10)} ${'events behind'.padStart(13)} ${'seconds behind'.padStart(14)}  ${'state'.padEnd(10)} last commit`,
  ];
  for (const line of report.projections) {
    const behind = `${line.eventsBehind}${line.eventsBehindAtLeast ? '+' : ''}`;
    lines.push(
      `${line.name.padEnd(22)} ${String(line.checkpoint ?? '-').padStart(10)} ${behind.padStart(13)} ${line.secondsBehind.toFixed(1).padStart(14)}  ` +
        `${line.state.padEnd(10)} ${line.updatedAt === null ? '-' : line.updatedAt.toISOString()}`,
    );
  }
  lines.push(`head of the event store: ${String(report.head ?? '- (empty)')}`);
  for (const line of report.projections) {
    if (line.rebuild === null) continue;
    const at = `position ${String(line.rebuild.position ?? '-')} (${line.rebuild.eventsApplied} events, started ${line.rebuild.startedAt.toISOString()})`;
    lines.push(
      line.rebuild.running
        ? `${line.name}: a rebuild is running, at ${at}`
        : `${line.name}: an interrupted rebuild waits at ${at}; \`projections rebuild ${line.name}\` resumes it, --restart starts it over`,
    );
  }
  return `${lines.join('\n')}\n`;
}
