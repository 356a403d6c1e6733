import {
  type AppendResult,
  categoryOf,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from './event-store.port';

/**
 * An event store that tells `onAppended` how many events each successful append wrote, by stream
 * category, and otherwise is the store it wraps. AppModule puts it in front of the store it is
 * given, so every handler's append is counted without a line in the handlers.
 */
export class MeteredEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly onAppended: (category: string, count: number) => void,
  ) {}

  async appendToStream(streamName: string, events: readonly NewEvent[], options: { readonly expectedRevision: ExpectedRevision }): Promise<AppendResult> {
    const result = await this.inner.appendToStream(streamName, events, options);
    // An idempotent re-append of the same event ids succeeds too and is counted again: rare (a
    // retried request), and counting it keeps the wrapper from reading the stream back.
    if (events.length > 0) this.onAppended(categoryOf(streamName), events.length);
    return result;
  }

  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(streamName, options);
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.inner.readAll(options);
  }

  subscribeToAll(options?: SubscribeOptions): EventSubscription {
    return this.inner.subscribeToAll(options);
  }

  headPosition(): Promise<bigint | null> {
    return this.inner.headPosition();
  }

  lastPosition(): Promise<bigint | null> {
    return this.inner.lastPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
