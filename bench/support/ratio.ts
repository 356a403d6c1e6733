/** The most decimals a ratio is printed with, however close it falls to its target's bound. */
const DIGITS_MAX = 6;

/**
 * A ratio as the report prints it: two decimals, or as many more as it takes for the printed
 * figure to fall on the same side of the target's bound as the ratio itself, so a report never
 * shows 0.25 beside "missed" for a 0.247 measured against "≥ 0.25". Without a bound, two decimals.
 */
export function formatRatio(value: number, bound?: number): string {
  if (bound === undefined || !Number.isFinite(value)) return value.toFixed(2);
  const side = Math.sign(value - bound);
  for (let digits = 2; digits < DIGITS_MAX; digits += 1) {
    if (Math.sign(Number(value.toFixed(digits)) - bound) === side) return value.toFixed(digits);
  }
  return value.toFixed(DIGITS_MAX);
}
