const DAY_MS = 86_400_000;

/** 00:00 UTC of the day after the one holding `atMs`, in epoch milliseconds. */
export function nextUtcMidnightMs(atMs: number): number {
  return Math.floor(atMs / DAY_MS) * DAY_MS + DAY_MS;
}

/**
 * Waits until at least `marginMs` separate now from the next 00:00 UTC, sleeping past it when
 * it is closer. A test whose expected caps hold within one UTC day (or ISO week, which also
 * starts at 00:00 UTC) calls it first, so that it passes whatever the time of day it runs at.
 */
export async function clearOfUtcMidnight(marginMs: number): Promise<void> {
  if (!(marginMs > 0 && marginMs < DAY_MS / 2)) {
    throw new Error(`marginMs must be between 0 and half a day, not ${marginMs}`);
  }
  const now = Date.now();
  const midnight = nextUtcMidnightMs(now);
  const waitMs = midnight - now < marginMs ? midnight - now + 50 : 0;
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/**
 * Runs `body` with `new Date()` in this process `offsetMs` off the real clock: a service instance
 * whose clock is off, sharing the database with the others. `Date.now()` stays real, because
 * timers compute waits and deadlines from it (the event store's poll, the read-model waits): one
 * taken inside the offset and used after it would wait for as long as the offset. A `Date` made
 * from a given value is unchanged.
 */
export async function withProcessClockOffset<T>(
  offsetMs: number,
  body: () => Promise<T>,
): Promise<T> {
  const RealDate = Date;
  class OffsetDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [string]));
    }
  }
  globalThis.Date = OffsetDate as DateConstructor;
  try {
    return await body();
  } finally {
    globalThis.Date = RealDate;
  }
}
