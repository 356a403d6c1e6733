import { randomUUID } from 'node:crypto';
import { runCachedUserCommand, UserStateCache } from '../src/identity/user/user-state-cache';
import { type UserCommand } from '../src/identity/user/user.decider';
import { toStreamName, userIdFromDiscordId } from '../src/identity/user/user.stream';
import { type CommandMetadata } from '../src/platform/decider';
import { DomainError } from '../src/platform/errors/domain-error';
import { type AppendResult, type EventStore, type ExpectedRevision, type NewEvent } from '../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const METADATA: CommandMetadata = { correlationId: randomUUID(), causationId: null, actor: { kind: 'integration', name: 'user-state-cache-test' } };
const RATE = { baseRaw: 5n * 10n ** 27n, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
const ABUSE = { killRatePerMinute: 10n, maxKillsPerObservation: 500n };
const EPIC = '0123456789abcdef0123456789abcdef';
const BASELINE = 100;

/**
 * runCachedUserCommand against writers its cache does not see, on a real event store: a cached
 * state another writer moved on is no race lost, and costs none of the command's three attempts.
 */
describe('cached user commands and the writers they race', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let discordSequence = 720_000_000_000_000_000n;

  beforeEach(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore(database.url);
  });

  afterEach(async () => {
    await store.close();
    await database.drop();
  });

  const observe = (lifetimeKills: bigint): UserCommand => ({
    type: 'ObserveKills',
    data: { lifetimeKills, observedAt: null, now: new Date(), rate: RATE, abuse: ABUSE },
  });

  /** A registered user with an Epic link, made through `cache`, which then holds its state. */
  async function linkedUser(cache: UserStateCache): Promise<string> {
    discordSequence += 1n;
    const userId = userIdFromDiscordId(discordSequence.toString());
    const now = new Date();
    await runCachedUserCommand(store, cache, userId, { type: 'RegisterUser', data: { userId, discordUserId: discordSequence.toString(), regionCode: null, now } }, METADATA);
    await runCachedUserCommand(store, cache, userId, { type: 'LinkEpicAccount', data: { epicAccountId: EPIC, baselineKills: BigInt(BASELINE), linkedToAnotherUser: false, formerHolderMark: null, rate: RATE, now } }, METADATA);
    return userId;
  }

  /** Another writer (another instance, say) records an observation of the baseline count. */
  async function otherWriter(userId: string): Promise<void> {
    const [last] = (await store.readStream(toStreamName(userId))).slice(-1);
    const observedAt = new Date(Date.now() - 60_000).toISOString();
    await store.appendToStream(
      toStreamName(userId),
      [
        {
          id: randomUUID(),
          type: 'KillsObserved',
          data: { userId, epicAccountId: EPIC, lifetimeKills: BASELINE, observedAt, epochMinute: Math.floor(Date.parse(observedAt) / 60_000), skippedUpToKillCount: null },
          metadata: { ...METADATA, actor: { kind: 'integration', name: 'other-writer' }, schemaVersion: 1 },
        },
      ],
      { expectedRevision: last.revision },
    );
  }

  /** The store, except that another writer moves the stream on just before each append numbered in `lost`. */
  function racedStore(userId: string, lost: readonly number[]): { store: EventStore; appends: () => number } {
    let appends = 0;
    const raced: EventStore = {
      appendToStream: async (streamName: string, events: readonly NewEvent[], options: { readonly expectedRevision: ExpectedRevision }): Promise<AppendResult> => {
        appends += 1;
        if (lost.includes(appends)) await otherWriter(userId);
        return store.appendToStream(streamName, events, options);
      },
      readStream: (streamName, options) => store.readStream(streamName, options),
      readAll: (options) => store.readAll(options),
      subscribeToAll: (options) => store.subscribeToAll(options),
      headPosition: () => store.headPosition(),
      lastPosition: () => store.lastPosition(),
      close: () => store.close(),
    };
    return { store: raced, appends: () => appends };
  }

  const writers = async (userId: string): Promise<string[]> =>
    (await store.readStream(toStreamName(userId))).filter((event) => event.type === 'KillsObserved').map((event) => event.metadata.actor.name);

  it('gives a command whose cached state another writer moved on three attempts against the writers it races', async () => {
    const cache = new UserStateCache();
    const userId = await linkedUser(cache);
    await otherWriter(userId);
    // The first append fails on the cached state alone; the next two lose to writers racing it.
    const raced = racedStore(userId, [2, 3]);

    const decision = await runCachedUserCommand(raced.store, cache, userId, observe(110n), METADATA);

    expect(decision.events.map((event) => event.type)).toEqual(['KillsObserved', 'AccrualRecorded']);
    expect(decision.events[1].data).toMatchObject({ kills: 10, fromKillCount: BASELINE, toKillCount: 110 });
    expect(raced.appends()).toBe(4);
    expect(await writers(userId)).toEqual(['other-writer', 'other-writer', 'other-writer', 'user-state-cache-test']);
  });

  it('answers 409 concurrency_conflict after three appends decided on the stream as read are lost, appending nothing', async () => {
    const userId = await linkedUser(new UserStateCache());
    const raced = racedStore(userId, [1, 2, 3]);

    const refusal = await runCachedUserCommand(raced.store, new UserStateCache(), userId, observe(110n), METADATA).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ code: 'concurrency_conflict', status: 409 });
    expect(raced.appends()).toBe(3);
    expect(await writers(userId)).toEqual(['other-writer', 'other-writer', 'other-writer']);
  });
});
