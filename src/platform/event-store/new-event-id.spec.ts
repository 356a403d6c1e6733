import { UUID_V7 } from '../../../test/support/uuid-v7';
import { toNewEvents } from '../decider';
import { newEventId } from './event-store.port';

/** The milliseconds since the epoch held in a UUID v7's first 48 bits. */
const millisecondsOf = (id: string): number => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('newEventId', () => {
  it('makes UUID v7 ids that carry the time they were made', () => {
    const before = Date.now();
    const id = newEventId();
    const after = Date.now();

    expect(id).toMatch(UUID_V7);
    expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisecondsOf(id)).toBeLessThanOrEqual(after);
  });

  it('makes distinct ids that sort in the order they were made, within one millisecond too', () => {
    // 10,000 ids take a few milliseconds here, so many share one.
    const ids = Array.from({ length: 10_000 }, () => newEventId());

    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id, index) => index === 0 || ids[index - 1] < id)).toBe(true);
    expect(new Set(ids.map(millisecondsOf)).size).toBeLessThan(ids.length);
  });

  it('is the id every decision gives its events', () => {
    const events = toNewEvents(
      [
        { type: 'First', data: {} },
        { type: 'Second', data: {} },
      ],
      { correlationId: 'c', causationId: null, actor: { kind: 'system', name: 'test' } },
      1,
    );

    expect(events.map((event) => event.id)).toEqual([expect.stringMatching(UUID_V7), expect.stringMatching(UUID_V7)]);
    expect(events[0].id < events[1].id).toBe(true);
  });
});
