import { parseInstant } from './instant';

describe('times given in requests', () => {
  it.each([
    ['2026-05-01T12:00:00Z', '2026-05-01T12:00:00.000Z'],
    ['2026-05-01T12:00Z', '2026-05-01T12:00:00.000Z'],
    ['2026-05-01T12:00:00.123Z', '2026-05-01T12:00:00.123Z'],
    ['2026-05-01T12:00:00.123456789Z', '2026-05-01T12:00:00.123Z'],
    ['2026-05-01T14:00:00+02:00', '2026-05-01T12:00:00.000Z'],
    ['2026-05-01T14:00:00+0200', '2026-05-01T12:00:00.000Z'],
    ['2026-05-01T09:30:00-02:30', '2026-05-01T12:00:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59+00:00', '9999-12-31T23:59:59.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseInstant(text)?.toISOString()).toBe(iso);
  });

  it.each([
    ['a week date, which Date cannot hold', '2026-W05-1'],
    ['an ordinal date, which Date cannot hold', '2026-121'],
    ['the basic format, which Date cannot hold', '20260501T120000Z'],
    ['an hour alone, which Date cannot hold', '2026-05-01T12'],
    ['a decimal comma, which Date cannot hold', '2026-05-01T12:00:00,5Z'],
    ['a date alone, which names a day, not an instant', '2026-05-01'],
    ['a month alone', '2026-05'],
    ['a time without a zone, which Date would read on the server clock', '2026-05-01T12:00:00'],
    ['an impossible day, which Date would roll over into March', '2026-02-30T00:00:00Z'],
    ['a year Date cannot hold', '+275761-01-01T00:00:00Z'],
    ['a time before the Unix epoch', '1969-12-31T23:59:59Z'],
    ['a time whose zone puts it before the Unix epoch', '1970-01-01T00:30:00+01:00'],
    ['a time whose zone puts it in the year 10000, which PostgreSQL cannot read', '9999-12-31T23:59:59-00:01'],
    ['hour 24', '2026-05-01T24:00:00Z'],
    ['a lower-case separator', '2026-05-01t12:00:00z'],
    ['words', 'yesterday'],
    ['an over-long text', `2026-05-01T12:00:00.${'1'.repeat(40)}Z`],
    ['not a string', 20260501],
  ])('refuses %s', (_case, text) => {
    expect(parseInstant(text)).toBeNull();
  });
});
