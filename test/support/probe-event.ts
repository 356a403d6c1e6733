import { randomUUID } from 'node:crypto';
import { toStreamName } from '../../src/identity/user/user.stream';
import { type EventStore, type NewEvent } from '../../src/platform/event-store/event-store.port';

/** An event for the event-store suites: a fresh id, the given type and data, a system actor named after the suite. */
export function probeEvent(suite: string, type: string, data: Record<string, unknown> = {}): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: suite }, schemaVersion: 1 },
  };
}

/**
 * Appends a UserRegistered of `userId` to its new stream for a suite that needs users in the store
 * and no service: `data` replaces fields (a poison event, say). Answers its position in `$all`.
 */
export async function registerProbeUser(store: EventStore, suite: string, userId: string = randomUUID(), data: Record<string, unknown> = {}): Promise<bigint> {
  const registered = { userId, discordUserId: `${suite}-${userId}`, regionCode: null, registeredAt: new Date().toISOString(), ...data };
  const result = await store.appendToStream(toStreamName(userId), [probeEvent(suite, 'UserRegistered', registered)], { expectedRevision: 'no_stream' });
  return result.position;
}
