import { type RecordedEvent } from '../../platform/event-store/event-store.port';
import { cutHistory, parseCut } from './as-of-cut';

const event = (revision: number, position: number, createdAt: string): RecordedEvent => ({
  id: `e${revision}`,
  type: 'KillsObserved',
  streamName: 'user-x',
  revision: BigInt(revision),
  position: BigInt(position),
  data: {},
  metadata: { correlationId: 'c', causationId: null, actor: { kind: 'system', name: 'test' }, schemaVersion: 1 },
  createdAt: new Date(createdAt),
});

describe('as-of cuts', () => {
  it('reads digits alone as a position and anything else as a time', () => {
    expect(parseCut('42')).toEqual({ kind: 'position', position: 42n });
    expect(parseCut('2026-05-01T12:00:00Z')).toEqual({ kind: 'time', at: new Date('2026-05-01T12:00:00Z') });
    expect(parseCut('99999999999999999999')).toBeNull();
    expect(parseCut('-1')).toBeNull();
  });

  it('keeps the prefix of a stream up to a position, or recorded up to a time, inclusive', () => {
    const history = [event(0, 10, '2026-05-01T10:00:00Z'), event(1, 20, '2026-05-01T11:00:00Z'), event(2, 30, '2026-05-01T12:00:00Z')];

    expect(cutHistory(history, { kind: 'position', position: 20n }).map((e) => e.revision)).toEqual([0n, 1n]);
    expect(cutHistory(history, { kind: 'position', position: 25n }).map((e) => e.revision)).toEqual([0n, 1n]);
    expect(cutHistory(history, { kind: 'position', position: 9n })).toEqual([]);
    expect(cutHistory(history, { kind: 'time', at: new Date('2026-05-01T11:00:00Z') }).map((e) => e.revision)).toEqual([0n, 1n]);
    expect(cutHistory(history, { kind: 'time', at: new Date('2026-05-01T13:00:00Z') })).toHaveLength(3);
  });

  it('stops the time cut at the first event recorded after it, even if a later one carries an earlier time', () => {
    const skewed = [event(0, 10, '2026-05-01T10:00:00Z'), event(1, 20, '2026-05-01T12:00:00Z'), event(2, 30, '2026-05-01T11:00:00Z')];

    expect(cutHistory(skewed, { kind: 'time', at: new Date('2026-05-01T11:30:00Z') }).map((e) => e.revision)).toEqual([0n]);
  });
});
