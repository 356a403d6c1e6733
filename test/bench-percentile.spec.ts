import { nearestRank, percentile } from '../bench/support/load';

describe('bench report: percentiles by nearest rank', () => {
  const hundred = Array.from({ length: 100 }, (_, index) => index + 1);

  it('takes the smallest value that at least that fraction of the values reach', () => {
    expect(nearestRank(hundred, 0.99)).toBe(99);
    expect(nearestRank(hundred, 0.5)).toBe(50);
    expect(nearestRank(hundred, 1)).toBe(100);
    expect(nearestRank(hundred, 0)).toBe(1);
    expect(nearestRank([7.25], 0.99)).toBe(7.25);
  });

  it('has no percentile of nothing', () => {
    expect(nearestRank([], 0.99)).toBeNaN();
    expect(percentile([], 0.99)).toBe(0);
  });

  it('sorts for percentile, and rounds its answer to a tenth of a millisecond; nearestRank keeps every digit', () => {
    const latencies = [0.88, 0.43, 0.91, 0.12];
    expect(percentile(latencies, 0.5)).toBe(0.4);
    expect(nearestRank([...latencies].sort((a, b) => a - b), 0.5)).toBe(0.43);
  });
});
