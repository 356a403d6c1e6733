import { type RecordedEvent } from '../../platform/event-store/event-store.port';
import { parseInstant } from '../../platform/http/instant';
import { isPosition } from '../../platform/http/paging';

/**
 * Where an "as of" answer stops reading a stream: at a time (the events recorded at or before it)
 * or at a position of `$all` (the events at or before it).
 */
export type HistoryCut = { readonly kind: 'time'; readonly at: Date } | { readonly kind: 'position'; readonly position: bigint };

/**
 * A command-line `<when>`: digits alone are a position (as commands return them), anything else
 * must be a time. Null when it is neither.
 */
export function parseCut(text: string): HistoryCut | null {
  if (/^[0-9]+$/.test(text)) return isPosition(text) ? { kind: 'position', position: BigInt(text) } : null;
  const at = parseInstant(text);
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
