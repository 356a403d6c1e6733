import { formatRatio } from '../bench/support/ratio';

describe('bench report: formatRatio', () => {
  it('prints two decimals when they already show which side of the bound the ratio is on', () => {
    expect(formatRatio(0.18, 0.5)).toBe('0.18');
    expect(formatRatio(2.52, 2)).toBe('2.52');
    expect(formatRatio(0.35, 0.25)).toBe('0.35');
  });

  it('prints more decimals where two would round a miss onto the bound', () => {
    expect(formatRatio(0.2474, 0.25)).toBe('0.247');
    expect(formatRatio(2.0004, 2)).toBe('2.0004');
  });

  it('prints more decimals where two would round a pass onto the bound', () => {
    expect(formatRatio(0.2502, 0.25)).toBe('0.2502');
    expect(formatRatio(1.9996, 2)).toBe('1.9996');
  });

  it('prints a ratio exactly on its bound, or one without a bound, with two decimals', () => {
    expect(formatRatio(0.25, 0.25)).toBe('0.25');
    expect(formatRatio(0.2474)).toBe('0.25');
  });

  it('stops at six decimals, and prints an infinite ratio as it is', () => {
    expect(formatRatio(0.25 - 1e-9, 0.25)).toBe('0.250000');
    expect(formatRatio(Number.POSITIVE_INFINITY, 2)).toBe('Infinity');
  });
});
