import { type DatabaseTransactionConnection } from 'slonik';
import { type EventFilter, type RecordedEvent } from '../../src/platform/event-store/event-store.port';

/**
 * A read model. `apply` writes the rows for a batch of events through the transaction it is
 * given; the runtime commits the checkpoint in that same transaction. Applying a batch twice
 * must change nothing, because a crash between commit and acknowledgement replays it.
 */
export interface Projection {
  readonly name: string;
  /** Which events it needs; the others are never read for it. */
  readonly filter?: EventFilter;
  /** The tables it owns, emptied by a rebuild. */
  readonly tables: readonly string[];
  apply(transaction: DatabaseTransactionConnection, events: readonly RecordedEvent[]): Promise<void>;
}
