import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { toStreamName } from '../src/identity/user/user.stream';
import { REBUILD_SCHEMA } from '../projections/runtime/shadow-schema';
import { registerProbeUser } from './support/probe-event';
import { childEnv, startBuiltEntry, waitForExit } from './support/processes';
import { type TestDatabase, useDatabaseWithStore } from './support/test-database';

/** The built CLI (`npm test` builds first) on `database`; its exit code and its stdout and stderr together. */
async function cli(database: TestDatabase, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const run = startBuiltEntry('cli.main.js', childEnv({ DATABASE_URL: database.url }), args);
  const { code } = await waitForExit(run.child, 60_000);
  return { code, output: run.output() };
}

const register = (store: PostgresEventStore, userId: string, data: Record<string, unknown> = {}): Promise<bigint> =>
  registerProbeUser(store, 'poison-test', userId, data);

/**
 * The exit codes the README documents for `projections rebuild|verify`, from the built CLI: 0 done
 * or in agreement, 2 differences found, 1 a bad argument (with its message, no stack trace).
 */
describe('projections rebuild and verify exit codes', () => {
  const suite = useDatabaseWithStore({ storeOptions: { pollIntervalMs: 100 } });

  beforeAll(async () => {
    for (let index = 0; index < 2; index += 1) await register(suite.store, randomUUID());
  }, 60_000);

  it('rebuild exits 0, verify 0 in agreement and 2 on a tampered row (text and --json), and an unknown projection 1', async () => {
    const { database, pool } = suite;
    const rebuilt = await cli(database, ['projections', 'rebuild', 'users']);
    expect(rebuilt).toEqual({ code: 0, output: expect.stringContaining('Rebuilt 1 projection.') });
    const clean = await cli(database, ['projections', 'verify']);
    expect(clean).toEqual({ code: 0, output: expect.stringContaining('the live read models equal a rebuild from the events') });

    await pool.query(sql.unsafe`UPDATE users SET accrued_kill_count = 5 WHERE user_id = (SELECT user_id FROM users LIMIT 1)`);
    const dirty = await cli(database, ['projections', 'verify']);
    const json = await cli(database, ['projections', 'verify', '--json']);
    const unknown = await cli(database, ['projections', 'rebuild', 'users', 'nope']);

    expect(dirty).toEqual({ code: 2, output: expect.stringContaining('Verification FAILED: 1 difference in 1 of') });
    expect(json.code).toBe(2);
    expect(json.output).toMatch(/"differences": 1,/);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/^error: unknown_projection: Unknown projection nope; the projections are users \(users\)/m);
    expect(unknown.output).not.toMatch(/^\s+at /m);
  }, 120_000);
});

/**
 * `npm run cli -- projections rebuild|verify` on a store holding a poison event, one a projection
 * cannot apply: the command fails with exit 1 and a message naming the projection and the event
 * (position, type, stream), never a bare database error nor a stack trace. No projector runs here:
 * the live read models are left as the test sets them.
 */
describe('projections rebuild and verify on a poison event', () => {
  const suite = useDatabaseWithStore({ storeOptions: { pollIntervalMs: 100 } });
  let poison: { position: bigint; stream: string };
  /** The last event before the poison one. */
  let lastGood: bigint;

  beforeAll(async () => {
    const { store } = suite;
    for (let index = 0; index < 3; index += 1) lastGood = await register(store, randomUUID());
    // A UserRegistered whose userId is no UUID: the users table's uuid column refuses it.
    const userId = randomUUID();
    poison = { position: await register(store, userId, { userId: 'not-a-uuid' }), stream: toStreamName(userId) };
    for (let index = 0; index < 2; index += 1) await register(store, randomUUID());
  }, 60_000);

  it('rebuild exits 1 naming the projection and the event it cannot apply, and keeps the live tables', async () => {
    const { database, pool } = suite;
    const { code, output } = await cli(database, ['projections', 'rebuild', 'users']);

    expect(code).toBe(1);
    expect(output).toContain(`error: users cannot apply the event at position ${poison.position.toString()} (UserRegistered of ${poison.stream}): `);
    expect(output).toContain('invalid input syntax for type uuid');
    expect(output).not.toMatch(/^\s+at /m);
    expect(await pool.oneFirst(sql.type(z.object({ rows: z.number() }))`SELECT count(*)::int AS rows FROM users`)).toBe(0);
    // The events before it are kept by the interrupted rebuild, which resumes from there.
    expect(await pool.oneFirst(sql.type(z.object({ position: z.bigint().nullable() }))`
      SELECT position FROM ${sql.identifier([REBUILD_SCHEMA, 'shadow_checkpoints'])} WHERE projection_name = 'users'`)).toBe(lastGood);
  }, 90_000);

  it('verify exits 1 naming the event when a live checkpoint lies past one the projection cannot apply', async () => {
    const { database, pool } = suite;
    // As if an older version of the projection had applied it.
    await pool.query(sql.unsafe`INSERT INTO projection_checkpoints (projection_name, position) VALUES ('users', ${poison.position.toString()}::bigint)
      ON CONFLICT (projection_name) DO UPDATE SET position = EXCLUDED.position`);

    const { code, output } = await cli(database, ['projections', 'verify']);

    expect(code).toBe(1);
    expect(output).toContain(`error: users cannot apply the event at position ${poison.position.toString()} (UserRegistered of ${poison.stream}): `);
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('Verified');
  }, 90_000);
});
