import { type DatabaseTransactionConnection } from 'slonik';
import { decodeUserEvent, type UserEvent } from '../../src/identity/user/user.events';
import { categoryOf, type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { type Projection } from './projection';

export type UserEventType = UserEvent['type'];
export type UserEventOf<T extends UserEventType> = Extract<UserEvent, { readonly type: T }>;

/** A decoded event with the record it came from (position, revision, stream). */
export interface Applied<E> {
  readonly event: E;
  readonly recorded: RecordedEvent;
}

/**
 * What a read model does with each event type it reads. A handler is given every event of its type
 * in one round of a batch (see inRounds) and writes them with set-based statements (multi-row
 * INSERT … SELECT FROM unnest, UPDATE … FROM unnest), so a batch costs a few statements per event
 * type instead of one or more per event.
 */
export type UserEventHandlers = {
  readonly [T in UserEventType]?: (transaction: DatabaseTransactionConnection, events: ReadonlyArray<Applied<UserEventOf<T>>>) => Promise<void>;
};

const USER_CATEGORY = 'user';

/**
 * A read model of the `user-<userId>` streams. It reads only the event types it has a handler for
 * (the event store filters them, so a read model of a few types never reads the others), decodes
 * each (skipping types the decoder does not know) and applies a batch round by round.
 *
 * Why rounds keep the meaning of event-by-event application: every statement a handler runs
 * touches only rows of the events' own users (their row, their wallets, accruals, claims, payouts
 * and journal entries), or adds to a running total, which is commutative. So events of different
 * users never interact, and applying the first event of every user in the batch, then the second,
 * and so on, leaves the tables exactly as applying the batch in position order would. Within one
 * user the order is kept. A round holds at most one event per user, so a multi-row statement never
 * touches a row twice. Replaying a batch is as safe as before: every statement keeps the guard of
 * the per-event statement it replaces (stream revision, status, ON CONFLICT).
 */
export function userStreamProjection(name: string, tables: readonly string[], handlers: UserEventHandlers): Projection {
  const types = Object.keys(handlers) as UserEventType[];
  if (types.length === 0) throw new Error(`${name} handles no event type`);
  return {
    name,
    filter: { kind: 'eventType', eventTypes: types },
    tables,
    async apply(transaction, events) {
      for (const round of inRounds(decodeUserEvents(events, types), (applied) => applied.recorded.streamName)) {
        for (const type of types) {
          const ofType = round.filter((applied) => applied.event.type === type);
          if (ofType.length === 0) continue;
          const handler = handlers[type] as (transaction: DatabaseTransactionConnection, events: ReadonlyArray<Applied<UserEvent>>) => Promise<void>;
          await handler(transaction, ofType);
        }
      }
    },
  };
}

/**
 * The events of a batch from `user-<userId>` streams whose type is one of `types`, decoded, with
 * their records, in position order. Types the decoder does not know are skipped.
 */
export function decodeUserEvents(events: readonly RecordedEvent[], types: readonly UserEventType[]): Array<Applied<UserEvent>> {
  const wanted = new Set<string>(types);
  const decoded: Array<Applied<UserEvent>> = [];
  for (const recorded of events) {
    if (categoryOf(recorded.streamName) !== USER_CATEGORY || !wanted.has(recorded.type)) continue;
    const event = decodeUserEvent(recorded.type, recorded.data);
    if (event !== null) decoded.push({ event, recorded });
  }
  return decoded;
}

/**
 * Splits `items` (in position order) into rounds: round k holds the k-th item of each key, in
 * position order. Applying the rounds one after another keeps the order within every key.
 */
export function inRounds<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const depth = new Map<string, number>();
  const rounds: T[][] = [];
  for (const item of items) {
    const key = keyOf(item);
    const round = depth.get(key) ?? 0;
    depth.set(key, round + 1);
    (rounds[round] ??= []).push(item);
  }
  return rounds;
}
