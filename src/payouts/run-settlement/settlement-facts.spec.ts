import { capWindows } from './settlement-facts';

const utc = (iso: string): Date => new Date(iso);
const windows = (iso: string): { dayStart: string; weekStart: string } => {
  const { dayStart, weekStart } = capWindows(utc(iso));
  return { dayStart: dayStart.toISOString(), weekStart: weekStart.toISOString() };
};

/**
 * The cap windows of SPEC §4.3: the UTC day, and the ISO week from Monday 00:00 UTC, that hold the
 * time a payout is requested. The settlement plan and the user status count claims from these.
 */
describe('cap windows', () => {
  it('puts the last millisecond of a Sunday in the week that began the Monday before, and Monday 00:00 in a new one', () => {
    expect(windows('2026-11-08T23:59:59.999Z')).toEqual({ dayStart: '2026-11-08T00:00:00.000Z', weekStart: '2026-11-02T00:00:00.000Z' });
    expect(windows('2026-11-09T00:00:00.000Z')).toEqual({ dayStart: '2026-11-09T00:00:00.000Z', weekStart: '2026-11-09T00:00:00.000Z' });
  });

  it('starts a day at 00:00 UTC: the last millisecond before it belongs to the day before', () => {
    expect(windows('2026-11-04T23:59:59.999Z').dayStart).toBe('2026-11-04T00:00:00.000Z');
    expect(windows('2026-11-05T00:00:00.000Z').dayStart).toBe('2026-11-05T00:00:00.000Z');
  });

  it('keeps an ISO week that spans two years whole: 2026-12-28 (Monday) to 2027-01-03 (Sunday)', () => {
    // 2027-01-01 is a Friday: its ISO week began on Monday 2026-12-28, in the year before.
    for (const day of ['2026-12-28T00:00:00.000Z', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z', '2027-01-03T23:59:59.999Z']) {
      expect(windows(day).weekStart).toBe('2026-12-28T00:00:00.000Z');
    }
    expect(windows('2027-01-01T12:00:00.000Z').dayStart).toBe('2027-01-01T00:00:00.000Z');
    expect(windows('2026-12-27T23:59:59.999Z').weekStart).toBe('2026-12-21T00:00:00.000Z');
    expect(windows('2027-01-04T00:00:00.000Z').weekStart).toBe('2027-01-04T00:00:00.000Z');
  });
});
