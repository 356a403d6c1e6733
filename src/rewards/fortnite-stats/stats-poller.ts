import { strict as assert } from 'node:assert';
import { RETRY_AFTER_HONOURED_MS_MAX } from '../../platform/http/retry-after';
import { type WorkerCursor } from '../../platform/runtime/worker-cursor';
import { type WorkerTurn } from '../../platform/runtime/worker-turn';
import { FortniteStatsError, FortniteStatsRateLimitedError, FortniteStatsUnavailableError } from './fortnite-stats.client';

/**
 * The stats poller reads the lifetime kills of every linked user, a few at a time, and records
 * each reading through the same command the HTTP API uses (§1: workers are driven by the same
 * commands). It knows nothing of the database or of HTTP: everything comes in through ports.
 */
export interface LinkedUser {
  userId: string;
  epicAccountId: string;
}

export interface StatsPollerPorts {
  /** Linked users ordered by userId ascending, strictly after `afterUserId` (null = from the start), at most `limit`. */
  listLinkedUsers(afterUserId: string | null, limit: number): Promise<LinkedUser[]>;
  /**
   * Appends the observation through the same command the HTTP API uses, naming the Epic account the
   * count was read for: the user stream refuses it if the user links another account by then.
   */
  recordKills(userId: string, epicAccountId: string, lifetimeKills: bigint, observedAt: Date): Promise<void>;
  getLifetimeKills(epicAccountId: string): Promise<bigint>;
  now(): Date;
  log?(message: string, fields?: Record<string, unknown>): void;
  /**
   * Whether this instance polls: one instance at a time does, or the stats API would get one
   * reading per instance under a limit set for one. Asked before each user. Absent, this process
   * polls alone.
   */
  turn?: WorkerTurn;
  /**
   * Where the instances' round-robin has got to: read once this instance holds the turn in a run,
   * saved after each user, so a handover or a restart goes on where the last holder stopped. Absent,
   * the cursor lives in this process only.
   */
  cursor?: WorkerCursor;
  /**
   * Told of every scheduled run that failed as a whole: one that threw (listing the users or the
   * stored cursor failed, the database is down), or one a refused API key ended, which every run
   * meets until an operator acts. A user whose reading or recording failed was skipped and the run
   * went on, and a run ended by the rate limit is the API's pacing: neither is a failed run.
   */
  runFailed?(): void;
}

export interface StatsPollerOptions {
  callsPerMinute: number;
  intervalMs: number;
  pageSize?: number;
  /**
   * The rate limiter's clock in milliseconds. It defaults to a monotonic clock, so that a wall
   * clock stepped back cannot open the window early; tests pass a fake one.
   */
  limiterClockMs?: () => number;
}

export interface StatsPollerRunResult {
  /** Calls made to getLifetimeKills, whatever their outcome. */
  polled: number;
  /** Observations accepted by recordKills. */
  recorded: number;
  /** Users whose reading or recording failed in this run; each was logged and skipped. */
  failed: number;
}

const pageSizeDefault = 100;
const pageSizeMax = 1_000;
const callsPerMinuteMax = 100_000;
const windowMs = 60_000;
/** A 429 without Retry-After pauses for one full window, after which every slot is free again. */
const rateLimitPauseDefaultMs = windowMs;

/**
 * At most `limit` acquisitions in any 60 s window, exactly: it remembers the time of each of the
 * last `limit` acquisitions (so its memory is bounded by the limit) and grants a new one only when
 * the oldest of them is at least 60 s old. A token bucket would allow a full bucket plus its
 * refill, up to twice the limit, within one rolling minute.
 */
export class SlidingWindowRateLimiter {
  private readonly grantedAtMs: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clockMs: () => number,
  ) {
    assert(Number.isSafeInteger(limit) && limit > 0, 'limit must be a positive integer');
    assert(Number.isSafeInteger(windowMs) && windowMs > 0, 'windowMs must be a positive integer');
  }

  tryAcquire(): boolean {
    const nowMs = this.clockMs();
    this.evict(nowMs);
    if (this.grantedAtMs.length >= this.limit) return false;
    this.grantedAtMs.push(nowMs);
    return true;
  }

  available(): number {
    this.evict(this.clockMs());
    return this.limit - this.grantedAtMs.length;
  }

  private evict(nowMs: number): void {
    while (this.grantedAtMs.length > 0 && nowMs - (this.grantedAtMs[0] as number) >= this.windowMs) {
      this.grantedAtMs.shift();
    }
  }
}

export class StatsPoller {
  private readonly pageSize: number;
  private readonly limiterClockMs: () => number;
  private readonly limiter: SlidingWindowRateLimiter;
  /**
   * The last user served. It survives runs so that each run continues where the last one stopped;
   * with a cursor port, the stored one replaces it once this instance holds the turn in a run.
   */
  private cursor: string | null = null;
  /** Set after a 429: no call is made before this time on the limiter's clock. */
  private pausedUntilMs: number | null = null;
  private inFlight: Promise<StatsPollerRunResult> | null = null;
  /** Whether the API refused our key in the last run: that run failed (runFailed). */
  private lastRunRefusedKey = false;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private stopping = false;
  /** Bumped by start and stop, so that a run finishing after a restart does not schedule twice. */
  private generation = 0;

  constructor(
    private readonly ports: StatsPollerPorts,
    private readonly options: StatsPollerOptions,
  ) {
    assert(
      Number.isSafeInteger(options.callsPerMinute) && options.callsPerMinute > 0 && options.callsPerMinute <= callsPerMinuteMax,
      `callsPerMinute must be an integer from 1 to ${callsPerMinuteMax}`,
    );
    assert(Number.isSafeInteger(options.intervalMs) && options.intervalMs > 0, 'intervalMs must be a positive integer');
    this.pageSize = options.pageSize ?? pageSizeDefault;
    assert(Number.isSafeInteger(this.pageSize) && this.pageSize > 0 && this.pageSize <= pageSizeMax, `pageSize must be 1 to ${pageSizeMax}`);
    this.limiterClockMs = options.limiterClockMs ?? (() => performance.now());
    this.limiter = new SlidingWindowRateLimiter(options.callsPerMinute, windowMs, this.limiterClockMs);
  }

  /** Runs now, then again `intervalMs` after each run began (or at once if a run took longer). */
  start(): void {
    assert(!this.started, 'the stats poller is already started');
    this.started = true;
    this.stopping = false;
    this.generation += 1;
    this.schedule(0, this.generation);
  }

  /** Stops scheduling, ends the run in flight after its current user, and waits for it. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    this.generation += 1;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.inFlight !== null) await this.inFlight.catch(() => undefined);
    await this.ports.turn?.release();
    // Stopping ends the scheduled runs only; a run asked for by hand afterwards does its work.
    this.stopping = false;
  }

  /**
   * One pass: polls users from the cursor on, while the rate limit allows, at most once each.
   * A call made while a run is in flight joins that run rather than starting a second one, so two
   * runs never overlap and never spend the same rate-limit slots twice.
   */
  runOnce(): Promise<StatsPollerRunResult> {
    if (this.inFlight !== null) return this.inFlight;
    const run = this.poll().finally(() => {
      this.inFlight = null;
    });
    this.inFlight = run;
    return run;
  }

  private schedule(delayMs: number, generation: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const startedAtMs = performance.now();
      void this.runOnce()
        .then(() => {
          if (this.lastRunRefusedKey) this.ports.runFailed?.();
        })
        .catch((error: unknown) => {
          // A failed run (the database is down, say) must not end the poller: it tries again later.
          this.ports.runFailed?.();
          this.log('stats poll run failed', errorFields(error));
        })
        .finally(() => {
          if (!this.started || this.generation !== generation) return;
          this.schedule(Math.max(0, this.options.intervalMs - (performance.now() - startedAtMs)), generation);
        });
    }, delayMs);
  }

  private async poll(): Promise<StatsPollerRunResult> {
    const result: StatsPollerRunResult = { polled: 0, recorded: 0, failed: 0 };
    this.lastRunRefusedKey = false;
    if (this.pausedUntilMs !== null) {
      const remainingMs = this.pausedUntilMs - this.limiterClockMs();
      if (remainingMs > 0) {
        this.log('stats poll paused by the stats API rate limit', { remainingMs: Math.ceil(remainingMs) });
        return result;
      }
      this.pausedUntilMs = null;
    }

    // Users served in this run. Meeting one again means the cursor has gone all the way round: a
    // second reading within the same run would spend a call and learn next to nothing. The set
    // holds at most callsPerMinute ids, since each entry cost one rate-limit slot.
    const servedThisRun = new Set<string>();
    // The stored cursor is read once this instance holds the turn, so that it is the one the last
    // holder saved; the page listed before from this process's own cursor is then listed again.
    let cursorLoaded = false;
    pages: while (!this.stopping && this.limiter.available() > 0) {
      const listedFrom = this.cursor;
      const page = await this.ports.listLinkedUsers(listedFrom, this.pageSize);
      assert(page.length <= this.pageSize, 'listLinkedUsers returned more users than asked for');

      for (const user of page) {
        if (this.stopping || servedThisRun.has(user.userId)) return result;
        // Another instance polls, from the stored cursor and with its own rate limit: this one stops here.
        if (this.ports.turn !== undefined && !(await this.ports.turn.acquire())) return result;
        if (!cursorLoaded && this.ports.cursor !== undefined) {
          cursorLoaded = true;
          const stored = await this.ports.cursor.load();
          if (stored !== listedFrom) {
            this.cursor = stored;
            continue pages;
          }
        }
        if (!this.limiter.tryAcquire()) return result;
        servedThisRun.add(user.userId);
        result.polled += 1;
        const outcome = await this.pollUser(user, result);
        // A rate-limited user keeps its place: it is the first served when the pause ends. So does
        // one whose read met a refused key, which every other user would meet too: the run ends,
        // and the next one, at the next interval, tries that user again.
        if (outcome === 'unauthorized') this.lastRunRefusedKey = true;
        if (outcome === 'rate_limited' || outcome === 'unauthorized') return result;
        this.cursor = user.userId;
        await this.ports.cursor?.save(user.userId);
      }

      if (page.length < this.pageSize) {
        // The end of the list: the next user is the first one again. A list read from the start
        // has been seen whole, so the run ends rather than going round again; otherwise it goes on
        // from the start until it meets a user it has already served.
        this.cursor = null;
        if (listedFrom === null) return result;
      }
    }
    return result;
  }

  private async pollUser(user: LinkedUser, result: StatsPollerRunResult): Promise<'recorded' | 'failed' | 'rate_limited' | 'unauthorized'> {
    let lifetimeKills: bigint;
    try {
      lifetimeKills = await this.ports.getLifetimeKills(user.epicAccountId);
    } catch (error) {
      result.failed += 1;
      if (error instanceof FortniteStatsRateLimitedError) {
        const pauseMs = Math.min(Math.max(error.retryAfterMs ?? rateLimitPauseDefaultMs, 0), RETRY_AFTER_HONOURED_MS_MAX);
        this.pausedUntilMs = this.limiterClockMs() + pauseMs;
        this.log('stats API rate limit reached; pausing', { userId: user.userId, pauseMs, retryAfterMs: error.retryAfterMs });
        return 'rate_limited';
      }
      // A 401 is about our key, not this player (a 403 is their private stats, and is skipped).
      if (error instanceof FortniteStatsUnavailableError && error.reason === 'unauthorized') {
        this.log('stats API refused our API key; run ended', { userId: user.userId, ...errorFields(error) });
        return 'unauthorized';
      }
      this.log('stats read failed; user skipped', { userId: user.userId, epicAccountId: user.epicAccountId, ...errorFields(error) });
      return 'failed';
    }

    // The observation is dated when the answer arrived, which is when the count was known to hold.
    const observedAt = this.ports.now();
    try {
      await this.ports.recordKills(user.userId, user.epicAccountId, lifetimeKills, observedAt);
    } catch (error) {
      result.failed += 1;
      this.log('kills observation not recorded; user skipped', {
        userId: user.userId,
        lifetimeKills: lifetimeKills.toString(),
        observedAt: observedAt.toISOString(),
        ...errorFields(error),
      });
      return 'failed';
    }
    result.recorded += 1;
    return 'recorded';
  }

  private log(message: string, fields?: Record<string, unknown>): void {
    this.ports.log?.(message, fields);
  }
}

/**
 * What is safe to log about an error: its name, stable code and message. Errors from the stats
 * client never carry the API key; other errors are reduced to the same three fields so that no
 * attached request or config object reaches the log.
 */
function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof FortniteStatsError) return { errorName: error.name, code: error.code, error: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { errorName: error.name, code: typeof code === 'string' ? code : undefined, error: error.message };
  }
  return { error: String(error) };
}
