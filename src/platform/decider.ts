import { DomainError } from './errors/domain-error';
import {
  type Actor,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  newEventId,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from './event-store/event-store.port';

/** A stream's decision logic: pure functions, no I/O (STYLE: equinox-style stream files). */
export interface Decider<Command, Event extends { type: string; data: object }, State> {
  readonly initialState: State;
  evolve(state: State, event: Event): State;
  decide(command: Command, state: State): Event[];
  /** Stored event → typed event; null for types this decider does not know. */
  decode(type: string, data: Readonly<Record<string, unknown>>): Event | null;
}

export interface Decision<Event, State> {
  /** The events appended; empty when the command asked for what was already true. */
  readonly events: readonly Event[];
  readonly state: State;
  /** The stream's events as read, before the decision. */
  readonly history: readonly RecordedEvent[];
  /** Position of the last appended event, when something was appended. */
  readonly position: bigint | null;
}

/** What a command carries into its events' metadata; the schema version comes from the stream. */
export interface CommandMetadata {
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: Actor;
  readonly [key: string]: unknown;
}

export interface HandleOptions {
  readonly metadata: CommandMetadata;
  readonly schemaVersion: number;
  /** Attempts when another writer got to the stream first. */
  readonly attemptsMax?: number;
  /**
   * A check of outside facts (the Banano node, say) that the decision depends on, made against
   * the very events it was decided on, once it decided to append; it throws to refuse. A stream
   * that moves after the check fails the append, and is read, decided and checked again.
   */
  readonly beforeAppend?: (history: readonly RecordedEvent[]) => Promise<void>;
}

/** The state a stream's recorded events add up to; event types the decider does not know are skipped. */
export function fold<Command, Event extends { type: string; data: object }, State>(
  decider: Decider<Command, Event, State>,
  history: readonly RecordedEvent[],
): State {
  let state = decider.initialState;
  for (const recorded of history) {
    const event = decider.decode(recorded.type, recorded.data);
    if (event !== null) state = decider.evolve(state, event);
  }
  return state;
}

/** A decision's events as the event store takes them: each with a new id and the command's metadata. */
export function toNewEvents(
  events: ReadonlyArray<{ readonly type: string; readonly data: object }>,
  metadata: CommandMetadata,
  schemaVersion: number,
): NewEvent[] {
  return events.map((event) => ({
    id: newEventId(),
    type: event.type,
    data: event.data as Readonly<Record<string, unknown>>,
    metadata: { ...metadata, schemaVersion } as EventMetadata,
  }));
}

/**
 * Read the stream, fold it, decide, append with the expected revision. A concurrent writer makes
 * the append fail; the stream is then read again and the command decided again, a bounded number
 * of times, after which the caller gets 409 `concurrency_conflict`.
 */
export async function handleCommand<Command, Event extends { type: string; data: object }, State>(
  store: EventStore,
  streamName: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  options: HandleOptions,
): Promise<Decision<Event, State>> {
  const attemptsMax = options.attemptsMax ?? 3;
  for (let attempt = 1; ; attempt += 1) {
    const history = await store.readStream(streamName);
    let state = fold(decider, history);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, history, position: null };
    await options.beforeAppend?.(history);
    const expectedRevision: ExpectedRevision = history.length === 0 ? 'no_stream' : history[history.length - 1].revision;
    try {
      const result = await store.appendToStream(
        streamName,
        toNewEvents(events, options.metadata, options.schemaVersion),
        { expectedRevision },
      );
      for (const event of events) state = decider.evolve(state, event);
      return { events, state, history, position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (attempt >= attemptsMax) {
        throw new DomainError('concurrency_conflict', `${streamName} kept changing; try again`, 409);
      }
    }
  }
}
