/**
 * The longest Retry-After a worker honours. A wait of hours is more likely a broken header than
 * intent, so a worker that was asked for more tries again within 15 minutes.
 */
export const RETRY_AFTER_HONOURED_MS_MAX = 15 * 60_000;

/**
 * A Retry-After header in milliseconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3).
 * Anything else, or no header, gives null, and the caller falls back on its own schedule; an
 * unparseable value is never read as zero, which would hammer the service.
 */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : null;
  }
  const dateMs = Date.parse(value);
  if (Number.isNaN(dateMs)) return null;
  return Math.max(0, dateMs - nowMs);
}
