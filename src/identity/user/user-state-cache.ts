import { Global, Module } from '@nestjs/common';
import { type UserCommand, userDecider, type UserState } from './user.decider';
import { USER_EVENT_SCHEMA_VERSION, type UserEvent } from './user.events';
import { toStreamName } from './user.stream';
import { type CommandMetadata, fold, toNewEvents } from '../../platform/decider';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventStore, WrongExpectedRevisionError } from '../../platform/event-store/event-store.port';

/** Users whose folded state a process keeps. */
export const USER_STATES_CACHED_MAX = 10_000;
/**
 * A user's state grows with its accruals and payouts (every one is kept, for settlement), so the
 * cache is also bounded by their total across the users it keeps, a few hundred bytes each.
 */
export const USER_STATE_ENTRIES_CACHED_MAX = 200_000;
/** Appends tried before 409 `concurrency_conflict`, as runUserCommand does. */
const APPEND_ATTEMPTS_MAX = 3;

interface Known {
  readonly state: UserState;
  /** Revision of the last event folded into `state`. */
  readonly revision: bigint;
  /** Position of that event in $all, for the answer's `position` when a command decides nothing. */
  readonly position: bigint;
}

/**
 * The folded state of the users a process commanded lately, with the revision it stands at. Kill
 * observations arrive every minute for every player, and each would otherwise read and fold the
 * player's whole stream, which only grows. The cache is only ever a guess: the append states the
 * cached revision as expected, so a stream another writer moved on (a wallet, a cancellation,
 * another instance) refuses it, and only then is the new tail read and folded on. A refusal by
 * the rules is never given from a guess either: it is decided again on the stream as read.
 */
export class UserStateCache {
  private readonly entries = new Map<string, Known>();
  /** The accruals and payouts of every state kept, plus one per state. */
  private weight = 0;

  constructor(
    private readonly usersMax: number = USER_STATES_CACHED_MAX,
    private readonly weightMax: number = USER_STATE_ENTRIES_CACHED_MAX,
  ) {
    if (!Number.isInteger(usersMax) || usersMax < 1) throw new Error('usersMax must be a positive integer');
    if (!Number.isInteger(weightMax) || weightMax < 1) throw new Error('weightMax must be a positive integer');
  }

  get(userId: string): Known | undefined {
    const known = this.entries.get(userId);
    if (known !== undefined) {
      // Map keeps insertion order: moving the entry to the end makes the first one the least recent.
      this.entries.delete(userId);
      this.entries.set(userId, known);
    }
    return known;
  }

  set(userId: string, known: Known): void {
    this.forget(userId);
    this.entries.set(userId, known);
    this.weight += weightOf(known);
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.usersMax && this.weight <= this.weightMax) break;
      this.forget(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private forget(userId: string): void {
    const known = this.entries.get(userId);
    if (known === undefined) return;
    this.entries.delete(userId);
    this.weight -= weightOf(known);
  }
}

function weightOf(known: Known): number {
  return known.state.status === 'registered' ? 1 + known.state.accruals.size + known.state.payouts.size : 1;
}

export interface CachedDecision {
  readonly events: readonly UserEvent[];
  readonly state: UserState;
  /**
   * Position of the last appended event; when nothing was appended, of the stream's last event
   * (as positionOf answers for runUserCommand), so `?minPosition=` still waits for what the
   * decision saw. Null only when there is no stream.
   */
  readonly position: bigint | null;
}

/**
 * runUserCommand (read, fold, decide, append with the expected revision, retry on a conflict) with
 * the read replaced by the cached state when there is one, and by the stream's new tail after it.
 */
export async function runCachedUserCommand(
  store: EventStore,
  cache: UserStateCache,
  userId: string,
  command: UserCommand,
  metadata: CommandMetadata,
): Promise<CachedDecision> {
  const streamName = toStreamName(userId);
  let known = cache.get(userId) ?? null;
  let fresh = false;
  const catchUp = async (): Promise<void> => {
    known = await readOn(store, streamName, known);
    fresh = true;
    if (known !== null && known.state.status === 'registered') cache.set(userId, known);
  };
  if (known === null) await catchUp();
  for (let attempt = 1; ; ) {
    const state = known?.state ?? userDecider.initialState;
    let events: UserEvent[];
    try {
      events = userDecider.decide(command, state);
    } catch (error) {
      if (fresh || !(error instanceof DomainError)) throw error;
      await catchUp();
      continue;
    }
    if (events.length === 0) {
      if (fresh) return { events, state, position: known?.position ?? null };
      await catchUp();
      continue;
    }
    try {
      const result = await store.appendToStream(
        streamName,
        toNewEvents(events, metadata, USER_EVENT_SCHEMA_VERSION),
        { expectedRevision: known === null ? 'no_stream' : known.revision },
      );
      let next = state;
      for (const event of events) next = userDecider.evolve(next, event);
      cache.set(userId, { state: next, revision: result.nextRevision, position: result.position });
      return { events, state: next, position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      // Only an append decided on the stream as read counts as an attempt. A cached state that
      // another writer moved on (another instance, a command that reads the stream) is no race
      // lost, and counting it would leave the command fewer tries than runUserCommand's.
      if (fresh) {
        if (attempt >= APPEND_ATTEMPTS_MAX) throw new DomainError('concurrency_conflict', `${streamName} kept changing; try again`, 409);
        attempt += 1;
      }
      await catchUp();
    }
  }
}

/** `known` brought up to the stream's end by reading only what follows it; null while there is no stream. */
async function readOn(store: EventStore, streamName: string, known: Known | null): Promise<Known | null> {
  const tail = await store.readStream(streamName, known === null ? {} : { fromRevision: known.revision + 1n });
  if (tail.length === 0) return known;
  const base = known?.state ?? userDecider.initialState;
  const state = fold({ ...userDecider, initialState: base }, tail);
  const last = tail[tail.length - 1];
  return { state, revision: last.revision, position: last.position };
}

/**
 * One cache per application, shared by the commands that run often on many users: kill
 * observations, settlement runs and the dry-run executor. Each warms it for the others: a run
 * finds the players it pays folded already by their last observation, and the executor finds the
 * payouts the run has just requested. Commands that run rarely (a wallet, a cancellation, a live
 * send) read the stream; the cached state they leave behind is refused at its next append and
 * read on from there.
 */
@Global()
@Module({ providers: [{ provide: UserStateCache, useFactory: () => new UserStateCache() }], exports: [UserStateCache] })
export class UserStateCacheModule {}
