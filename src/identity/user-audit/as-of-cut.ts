import { isISO8601 } from 'class-validator';
import { type RecordedEvent } from '../../platform/event-store/event-store.port';
import { isPosition } from '../../platform/http/paging';

/**
 * Where an "as of" answer stops reading a stream: at a time (the events recorded at or before it)
 * or at a position of `$all` (the events at or before it).
 */
export type HistoryCut = { readonly kind: 'time'; readonly at: Date } | { readonly kind: 'position'; readonly position: bigint };

/** `2026-01-01T00:00:00.000000000+00:00` is 35 characters; a longer time is not one we answer for. */
export const AS_OF_LENGTH_MAX = 40;

/**
 * A date and time with its zone, in ISO-8601 extended format. A date alone ("as of 1 May": its
 * start or its end?) and a time without a zone (whose clock?) are refused rather than guessed.
 */
const AS_OF_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;

/**
 * The instant an `asOf` text names, or null when it is not one this service answers for. Checked
 * three ways because each catches what the others let through: class-validator's strict ISO-8601
 * refuses impossible dates that Date silently rolls over (2026-02-30 → 2 March); the form refuses
 * ISO-8601 that names no single instant (week dates, a date alone, no zone); and Date must hold
 * the result (a year past 275760 it cannot), or the answer would be a 500.
 */
export function parseAsOfTime(text: unknown): Date | null {
  if (typeof text !== 'string' || text.length > AS_OF_LENGTH_MAX) return null;
  if (!AS_OF_FORM.test(text) || !isISO8601(text, { strict: true, strictSeparator: true })) return null;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at;
}

/**
 * A command-line `<when>`: digits alone are a position (as commands return them), anything else
 * must be a time. Null when it is neither.
 */
export function parseCut(text: string): HistoryCut | null {
  if (/^[0-9]+$/.test(text)) return isPosition(text) ? { kind: 'position', position: BigInt(text) } : null;
  const at = parseAsOfTime(text);
  return at === null ? null : { kind: 'time', at };
}

/**
 * The stream's events up to the cut. A prefix, never a filter: a fold must see every event before
 * the last one it sees. A stream's positions grow with its revisions; its recorded times are
 * written by the database clock, so the time cut stops at the first event recorded after `at`.
 */
export function cutHistory(history: readonly RecordedEvent[], cut: HistoryCut): RecordedEvent[] {
  const included = (event: RecordedEvent): boolean =>
    cut.kind === 'time' ? event.createdAt.getTime() <= cut.at.getTime() : event.position <= cut.position;
  const end = history.findIndex((event) => !included(event));
  return end === -1 ? [...history] : history.slice(0, end);
}
