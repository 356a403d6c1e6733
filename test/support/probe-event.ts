import { randomUUID } from 'node:crypto';
import { type NewEvent } from '../../src/platform/event-store/event-store.port';

/** An event for the event-store suites: a fresh id, the given type and data, a system actor named after the suite. */
export function probeEvent(suite: string, type: string, data: Record<string, unknown> = {}): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: suite }, schemaVersion: 1 },
  };
}
