/** 1 BAN = 10^29 raw (SPEC §2). Amounts are bigint raw everywhere in code. */
export const RAW_PER_BAN = 10n ** 29n;

/** BAN values are shown with 8 decimals; one unit of the 8th decimal is 10^21 raw. */
const RAW_PER_BAN_UNIT = 10n ** 21n;

/** The BAN decimal string of a raw amount, rounded down to 8 decimals: 5×10^27 raw → "0.05000000". */
export function formatBan(raw: bigint): string {
  const negative = raw < 0n;
  const units = (negative ? -raw : raw) / RAW_PER_BAN_UNIT;
  const whole = units / 100_000_000n;
  const fraction = (units % 100_000_000n).toString().padStart(8, '0');
  return `${negative ? '-' : ''}${whole.toString()}.${fraction}`;
}

/** The `…Raw` / `…Ban` pair an API response carries for one amount (SPEC §5 shapes). */
export function moneyPair(raw: bigint): { raw: string; ban: string } {
  return { raw: raw.toString(), ban: formatBan(raw) };
}
