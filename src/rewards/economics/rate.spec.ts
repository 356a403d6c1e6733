import { parseBan, RAW_PER_BAN } from '../../platform/money';
import { milestoneFor, milestonesDue, nextMilestone, ratePerKillRaw, sustainabilityFactor } from './rate';

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

describe('sustainability factor', () => {
  const seedFundRaw = 1_336n * RAW_PER_BAN;

  it('is 2.0 while nothing has been paid, and 1 when switched off', () => {
    expect(sustainabilityFactor({ enabled: true, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 0n })).toBe('2.0000');
    expect(sustainabilityFactor({ enabled: false, seedFundRaw, totalDonatedRaw: 0n, totalPaidOutRaw: 5n })).toBe('1.0000');
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
