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

/** Parses a BAN decimal string with at most 8 decimals ("0.05") into raw; null when malformed. */
export function parseBan(text: string): bigint | null {
  const match = /^(\d{1,12})(?:\.(\d{1,8}))?$/.exec(text);
  if (match === null) return null;
  const whole = BigInt(match[1]);
  const fraction = BigInt((match[2] ?? '').padEnd(8, '0'));
  return (whole * 100_000_000n + fraction) * RAW_PER_BAN_UNIT;
}

/** Rounds a raw amount down to a whole number of 10^-8 BAN. */
export function floor8(raw: bigint): bigint {
  if (raw < 0n) throw new Error('floor8 takes a non-negative amount');
  return (raw / RAW_PER_BAN_UNIT) * RAW_PER_BAN_UNIT;
}
