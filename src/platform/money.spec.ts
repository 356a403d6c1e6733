import { formatBan, RAW_PER_BAN } from './money';

describe('formatBan', () => {
  it.each([
    [0n, '0.00000000'],
    [RAW_PER_BAN, '1.00000000'],
    [5n * 10n ** 27n, '0.05000000'],
    [3n * RAW_PER_BAN, '3.00000000'],
    [10n ** 21n, '0.00000001'],
    // Below 10^-8 BAN rounds down, never up.
    [10n ** 21n - 1n, '0.00000000'],
    [123_456n * RAW_PER_BAN + 99_999_999n * 10n ** 21n + 7n, '123456.99999999'],
    [-(5n * 10n ** 27n), '-0.05000000'],
  ])('formats %s raw as %s BAN', (raw, ban) => {
    expect(formatBan(raw)).toBe(ban);
  });
});
