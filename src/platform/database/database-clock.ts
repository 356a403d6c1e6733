import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';

const NOW_ROW = z.object({ now: z.date() });

/**
 * The time on the database server's clock. Every service instance shares that one clock, which
 * also records each event's time, so facts counted by time (a claim's UTC day and ISO week, SPEC
 * §4.3) get the same label whichever instance counts or records them. Each instance's own clock
 * may be a few seconds off; across 00:00 UTC that would put one real day's claims in two days.
 * clock_timestamp(), not now(): inside a transaction now() is when the transaction began.
 */
export async function databaseNow(connection: CommonQueryMethods): Promise<Date> {
  return connection.oneFirst(sql.type(NOW_ROW)`SELECT clock_timestamp() AS now`);
}
