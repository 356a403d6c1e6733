import { parseBan, RAW_PER_BAN } from '../../platform/money';
import { DEFAULT_MILESTONES, milestoneFor, milestonesDue, nextMilestone, ratePerKillRaw, sustainabilityFactor } from './rate';

const ban = (text: string): bigint => {
  const raw = parseBan(text);
  if (raw === null) throw new Error(text);
  return raw;
};

describe('per-kill rate', () => {
  it('is 0.1 BAN for base 0.05, milestone 1.00 and sustainability 2.0', () => {
    expect(ratePerKillRaw({ baseRaw: ban('0.05'), milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' })).toBe(10n ** 28n);
  });

  it('rounds down to 8 decimals', () => {
    // 0.00000003 × 1.05 × 1.3333 = 0.0000000419958… → 0.00000004
    expect(ratePerKillRaw({ baseRaw: ban('0.00000003'), milestoneMultiplier: '1.05', sustainabilityFactor: '1.3333' })).toBe(
      ban('0.00000004'),
    );
    // 0.05 × 1.05 × 0.1234 = 0.00647850 exactly
    expect(ratePerKillRaw({ baseRaw: ban('0.05'), milestoneMultiplier: '1.05', sustainabilityFactor: '0.1234' })).toBe(ban('0.0064785'));
  });
});

describe('per-kill rate, checked against integer arithmetic of its own', () => {
  // In units of 10^-8 BAN (10^21 raw) and of 10^-4 for the factors, the rate is
  // floor(base × M × S / 10^8) units: one rounding down, after both factors.
  const UNIT = 10n ** 21n;
  const tenThousandths = (text: string): bigint => {
    const [whole, fraction = ''] = text.split('.');
    return BigInt(whole) * 10_000n + BigInt(fraction.padEnd(4, '0'));
  };
  const bases = ['0.00000001', '0.00000003', '0.00000007', '0.01234567', '0.05', '0.33333333', '1', '999.99999999', '1000'];
  const multipliers = [...new Set(DEFAULT_MILESTONES.map((tier) => tier.multiplier)), '1.0125', '2', '10', '10.0000'];
  const factors = ['0.1000', '0.1001', '0.6666', '0.9999', '1.0000', '1.3333', '1.9999', '2.0000'];

  it.each(bases)('base %s BAN: every multiplier and factor, rounded down once to 10^-8 BAN', (base) => {
    const baseRaw = ban(base);
    for (const milestoneMultiplier of multipliers) {
      for (const factor of factors) {
        const expected = ((baseRaw / UNIT) * tenThousandths(milestoneMultiplier) * tenThousandths(factor)) / 10n ** 8n;
        const rate = ratePerKillRaw({ baseRaw, milestoneMultiplier, sustainabilityFactor: factor });
        expect({ milestoneMultiplier, factor, units: rate / UNIT, remainder: rate % UNIT }).toEqual({ milestoneMultiplier, factor, units: expected, remainder: 0n });
      }
    }
  });
});

describe('sustainability factor', () => {
  const seedFundRaw = 1_336n * RAW_PER_BAN;

  it('is 2.0 while nothing has been paid, and 1 when switched off', () => {
    expect(sustainabilityFactor({ enabled: true, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 0n })).toBe('2.0000');
    expect(sustainabilityFactor({ enabled: false, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 5n })).toBe('1.0000');
  });

  // Expected values worked out with exact fractions, apart from the code.
  const B = RAW_PER_BAN;
  const seed = 1_336n * B;
  const huge = 2n ** 128n;
  it.each([
    ['nothing donated, nothing paid', seed, 0n, 0n, '2.0000'],
    ['nothing paid, no seed fund', 0n, 0n, 0n, '2.0000'],
    ['nothing paid, 2^128 raw donated', seed, huge, 0n, '2.0000'],
    ['2^128 raw paid, nothing donated', seed, 0n, huge, '0.1000'],
    ['2^128 raw donated, 1 raw paid', seed, huge, 1n, '2.0000'],
    ['2^128 raw donated, 2^127 raw paid', seed, huge, huge / 2n, '2.0000'],
    ['2^128 − 1 raw donated, 2^128 raw paid', seed, huge - 1n, huge, '1.0000'],
    ['no seed fund, no donations, 1 raw paid', 0n, 0n, 1n, '0.1000'],
    ['paid exactly the seed fund', seed, 0n, seed, '1.0000'],
    ['exactly 0.1', seed, 0n, 10n * seed, '0.1000'],
    ['just below 0.1', seed, 0n, 10n * seed + 1n, '0.1000'],
    ['just above 0.1', seed, 0n, 10n * seed - 1n, '0.1000'],
    ['exactly 2', seed, seed, seed, '2.0000'],
    ['1 raw below 2: truncated, not rounded', seed, seed - 1n, seed, '1.9999'],
    ['2/3: truncated, not rounded', seed, 664n * B, 3_000n * B, '0.6666'],
  ])('%s', (_case, seedFundRaw, totalDonatedRaw, totalPaidOutRaw, expected) => {
    expect(sustainabilityFactor({ enabled: true, seedFundRaw, totalDonatedRaw, totalPaidOutRaw })).toBe(expected);
    expect(sustainabilityFactor({ enabled: false, seedFundRaw, totalDonatedRaw, totalPaidOutRaw })).toBe('1.0000');
  });

  it('is (seed + donated) / paid, truncated to 4 decimals and clamped to [0.1, 2.0]', () => {
    expect(sustainabilityFactor({ enabled: true, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 1_002n * RAW_PER_BAN })).toBe('1.3333');
    expect(sustainabilityFactor({ enabled: true, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 100n * RAW_PER_BAN })).toBe('2.0000');
    expect(sustainabilityFactor({ enabled: true, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 100_000n * RAW_PER_BAN })).toBe('0.1000');
  });
});

describe('milestones', () => {
  it('reaches a tier at its threshold, not before', () => {
    expect(milestoneFor(0n).name).toBe('Fresh Spawn');
    expect(milestoneFor(100n * RAW_PER_BAN - 1n).multiplier).toBe('1.00');
    expect(milestoneFor(100n * RAW_PER_BAN).multiplier).toBe('1.05');
    expect(milestoneFor(150_000n * RAW_PER_BAN).name).toBe('Potassium Singularity');
  });

  it('names the next tier, and none past the last', () => {
    expect(nextMilestone(0n)?.name).toBe('First Blood');
    expect(nextMilestone(100n * RAW_PER_BAN)?.name).toBe('Loot Drop');
    expect(nextMilestone(100_000n * RAW_PER_BAN)).toBeNull();
  });

  it('owes a MilestoneReached for each tier reached and not recorded, never for the 0 tier', () => {
    const names = (total: bigint, reached: bigint[] = []) => milestonesDue(total, new Set(reached)).map((tier) => tier.name);
    expect(names(99n * RAW_PER_BAN)).toEqual([]);
    expect(names(100n * RAW_PER_BAN)).toEqual(['First Blood']);
    expect(names(100n * RAW_PER_BAN, [100n * RAW_PER_BAN])).toEqual([]);
    // One donation may cross several tiers at once.
    expect(names(1_000n * RAW_PER_BAN, [100n * RAW_PER_BAN])).toEqual(['Loot Drop', 'Supply Drop']);
  });
});
