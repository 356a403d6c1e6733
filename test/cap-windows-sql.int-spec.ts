import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { capWindows, capWindowsSql } from '../src/payouts/run-settlement/settlement-facts';
import { createDatabasePool } from '../src/platform/database/database';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const windowsRow = z.object({ day_start: z.date(), week_start: z.date() });

/**
 * The cap windows of SPEC §4.3 are computed twice: in TypeScript (capWindows, for the settlement
 * plan and the as-of status) and in SQL (capWindowsSql, for the user status, which reads them in
 * the statement that counts the claims). Both must give the same UTC day and ISO week for every
 * instant, whatever the session's time zone.
 */
describe('the cap windows in SQL', () => {
  let database: TestDatabase;
  let pool: DatabasePool;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    pool = await createDatabasePool(database.url);
  });

  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  const instants = [
    '2026-11-08T23:59:59.999Z', // the last millisecond of a Sunday
    '2026-11-09T00:00:00.000Z', // Monday 00:00: a new week
    '2026-11-04T23:59:59.999Z',
    '2026-11-05T00:00:00.000Z',
    '2026-12-31T23:59:59.999Z', // an ISO week across two years
    '2027-01-01T00:00:00.000Z',
    '2027-01-03T23:59:59.999Z',
    '2028-02-29T12:00:00.000Z', // a leap day
  ];

  it.each(['UTC', 'Pacific/Kiritimati', 'America/Los_Angeles'])('answers as capWindows does, in a session whose time zone is %s', async (zone) => {
    const answers = await pool.connect(async (connection) => {
      await connection.query(sql.unsafe`SELECT set_config('TimeZone', ${zone}, false)`);
      const rows = [];
      for (const instant of instants) {
        rows.push(await connection.one(sql.type(windowsRow)`${capWindowsSql(sql.fragment`${instant}::timestamptz`)}`));
      }
      await connection.query(sql.unsafe`RESET TimeZone`);
      return rows;
    });

    expect(answers.map((row) => ({ dayStart: row.day_start.toISOString(), weekStart: row.week_start.toISOString() }))).toEqual(
      instants.map((instant) => {
        const { dayStart, weekStart } = capWindows(new Date(instant));
        return { dayStart: dayStart.toISOString(), weekStart: weekStart.toISOString() };
      }),
    );
  });
});
