import assert from 'node:assert/strict';
import { configProblems, type Env, envInteger, envText } from '../../platform/config/config';
import { RETRY_AFTER_HONOURED_MS_MAX } from '../../platform/http/retry-after';
import { type WorkerCursor } from '../../platform/runtime/worker-cursor';
import { type WorkerTurn } from '../../platform/runtime/worker-turn';

// Both halves of the Yunite configuration are read from the environment by the same rules; the
// module that wires the scheduler can take them from here.
export { yuniteConfigFromEnv } from './yunite.client';

/**
 * The periodic refresh of SPEC §4.1: linked users are asked about again, because a player can
 * unlink or relink their Epic account in Yunite at any time and must not be paid meanwhile for an
 * account that is no longer theirs. The scheduler knows nothing of the database; it walks the
 * users through a port and runs the same verify command as `POST /v1/users/:userId/verify`.
 */
export interface ReverificationPorts {
  /** Users with a linked Epic account, ordered by userId ascending, strictly after `afterUserId` (null = from start), at most `limit`. */
  listLinkedUsers(afterUserId: string | null, limit: number): Promise<Array<{ userId: string }>>;
  /** Runs the same verify command as POST /v1/users/:userId/verify. */
  verifyUser(userId: string): Promise<void>;
  log?(message: string, fields?: Record<string, unknown>): void;
  /**
   * Whether this instance re-verifies: one instance at a time does, or Yunite would be asked about
   * each user once per instance. Asked before each user. Absent, this process re-verifies alone.
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
   * meets until an operator acts. A user whose verification failed was skipped and the run went
   * on, and a run ended by Yunite's rate limit is its pacing: neither is a failed run.
   */
  runFailed?(): void;
}

export interface ReverificationOptions {
  intervalMs: number;
  usersPerRunMax: number;
  pageSize?: number;
}

export interface ReverificationRunResult {
  verified: number;
  failed: number;
}

const pageSizeDefault = 100;
/** setTimeout fires at once for delays above 2^31 − 1 ms, so longer intervals are refused. */
const timerDelayMsMax = 2_147_483_647;
/** One week: more than anyone needs between refreshes, and safely under the timer limit. */
const intervalSecondsMax = 604_800;
const envUsersPerRunMax = 100_000;

/** Errors after which asking Yunite about the next user is pointless, so the run ends. */
const runEndingCodes: ReadonlySet<string> = new Set(['yunite_rate_limited', 'yunite_unauthorized']);

export class ReverificationScheduler {
  /**
   * The last user this scheduler got to; the next run starts strictly after them. With a cursor
   * port, the stored one replaces it once this instance holds the turn in a run.
   */
  private cursor: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private inFlight: Promise<ReverificationRunResult> | null = null;
  /** The code of the error that ended the last run early, if one did (runEndingCodes). */
  private lastRunEndedBy: string | null = null;
  /** Set by stop() so that a long run ends after the user in hand rather than after all of them. */
  private stopRequested = false;
  /** Yunite's Retry-After from the last run that was rate-limited, honoured (up to 15 minutes) by the next timer. */
  private retryAfterMs: number | null = null;
  private readonly pageSize: number;

  constructor(
    private readonly ports: ReverificationPorts,
    private readonly options: ReverificationOptions,
  ) {
    assert(
      Number.isInteger(options.intervalMs) && options.intervalMs > 0 && options.intervalMs <= timerDelayMsMax,
      'ReverificationOptions.intervalMs must be a positive integer that fits a timer',
    );
    assert(
      Number.isInteger(options.usersPerRunMax) && options.usersPerRunMax > 0,
      'ReverificationOptions.usersPerRunMax must be a positive integer',
    );
    this.pageSize = options.pageSize ?? pageSizeDefault;
    assert(Number.isInteger(this.pageSize) && this.pageSize > 0, 'ReverificationOptions.pageSize must be a positive integer');
  }

  /**
   * Runs every `intervalMs`, measured from the end of one run to the start of the next. The first
   * run comes `intervalMs` after the stored cursor was last saved (by this instance or another,
   * before a restart), or after the start when none was: counted from the start alone, a service
   * restarted more often than the interval would never re-verify anyone, and a crash loop still
   * asks Yunite no more often than the interval allows.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopRequested = false;
    const { cursor } = this.ports;
    if (cursor === undefined) {
      this.schedule(this.options.intervalMs);
      return;
    }
    void cursor
      .sinceSavedMs()
      .then(
        (sinceMs) => (sinceMs === null ? this.options.intervalMs : Math.max(0, this.options.intervalMs - sinceMs)),
        (error: unknown) => {
          this.ports.log?.('reverification: when the last run was is unknown', errorFields(error));
          return this.options.intervalMs;
        },
      )
      .then((delayMs) => {
        // Stopped meanwhile, or started again and already scheduled: nothing to do.
        if (this.started && this.timer === null) this.schedule(delayMs);
      });
  }

  /** No further runs start; a run in flight ends after its current user and is waited for. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const running = this.inFlight;
    if (running !== null) {
      this.stopRequested = true;
      // The run's own outcome was already logged (timer) or returned to its caller (runOnce).
      await running.catch(() => undefined);
    }
    await this.ports.turn?.release();
  }

  /**
   * Re-verifies up to `usersPerRunMax` users, one at a time, continuing where the previous run
   * stopped and wrapping round at the end. Called while a run is in flight it joins that run
   * instead of starting a second one, so runs never overlap.
   */
  runOnce(): Promise<ReverificationRunResult> {
    if (this.inFlight !== null) return this.inFlight;
    this.stopRequested = false;
    const run = this.run().finally(() => {
      this.inFlight = null;
    });
    this.inFlight = run;
    return run;
  }

  private schedule(delayMs: number): void {
    // A start() racing the end of a stopped run must not leave two timers behind.
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, delayMs);
    // The scheduler alone is no reason to keep the process alive; the HTTP server is.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const result = await this.runOnce();
      if (this.lastRunEndedBy === 'yunite_unauthorized') this.ports.runFailed?.();
      this.ports.log?.('reverification run finished', { ...result, cursor: this.cursor });
    } catch (error) {
      this.ports.runFailed?.();
      this.ports.log?.('reverification run failed', errorFields(error));
    }
    if (!this.started) return;
    const delayMs = Math.max(this.options.intervalMs, Math.min(this.retryAfterMs ?? 0, RETRY_AFTER_HONOURED_MS_MAX));
    this.retryAfterMs = null;
    this.schedule(delayMs);
  }

  private async run(): Promise<ReverificationRunResult> {
    this.lastRunEndedBy = null;
    let verified = 0;
    let failed = 0;
    let budget = this.options.usersPerRunMax;
    let wrapped = false;
    // With fewer users than `usersPerRunMax` the walk comes back round to where it began; the
    // set stops it there, so nobody is verified twice in one run. It holds at most
    // `usersPerRunMax` ids, and it relies on nothing but the port's own order.
    const seen = new Set<string>();
    // The stored cursor is read once this instance holds the turn, so that it is the one the last
    // holder saved; the page listed before from this process's own cursor is then listed again.
    let cursorLoaded = false;

    pages: while (budget > 0 && !this.stopRequested) {
      const limit = Math.min(this.pageSize, budget);
      const listedFrom = this.cursor;
      const page = (await this.ports.listLinkedUsers(listedFrom, limit)).slice(0, limit);
      const reachedEnd = page.length < limit;

      for (const { userId } of page) {
        if (seen.has(userId) || this.stopRequested) return { verified, failed };
        // Another instance re-verifies, from the stored cursor: this one stops here.
        if (this.ports.turn !== undefined && !(await this.ports.turn.acquire())) return { verified, failed };
        if (!cursorLoaded && this.ports.cursor !== undefined) {
          cursorLoaded = true;
          const stored = await this.ports.cursor.load();
          if (stored !== listedFrom) {
            // Nobody was asked about yet: the walk begins afresh from the stored cursor.
            this.cursor = stored;
            wrapped = false;
            continue pages;
          }
        }
        seen.add(userId);
        try {
          await this.ports.verifyUser(userId);
          verified += 1;
        } catch (error) {
          const fields = errorFields(error);
          if (runEndingCodes.has(String(fields.code))) {
            // The cursor stays before this user, so the next run asks about them first.
            this.retryAfterMs = retryAfterMsOf(error);
            this.lastRunEndedBy = String(fields.code);
            this.ports.log?.('reverification run ended early', { userId, ...fields });
            return { verified, failed };
          }
          failed += 1;
          this.ports.log?.('reverification of a user failed; skipped until the next round', { userId, ...fields });
        }
        this.cursor = userId;
        await this.ports.cursor?.save(userId);
        budget -= 1;
      }

      if (reachedEnd) {
        // Both passes hit the end: every linked user has been seen (or there are none).
        if (wrapped || this.cursor === null) break;
        wrapped = true;
        this.cursor = null;
      }
    }
    return { verified, failed };
  }
}

/** Code and message only: stacks and causes stay out of the log, and so does anything secret. */
function errorFields(error: unknown): { code: string | null; error: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : null, error: error.message };
  }
  return { code: null, error: String(error) };
}

function retryAfterMsOf(error: unknown): number | null {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/** The refresh runs only when Yunite is configured: without it there is nobody to ask. */
export function reverificationFromEnv(env: Env): ReverificationOptions | null {
  if (envText(env, 'YUNITE_API_KEY') === null || envText(env, 'YUNITE_GUILD_ID') === null) return null;
  const problems = configProblems();
  const options = {
    intervalMs: problems.read(() => envInteger(env, 'YUNITE_REVERIFY_INTERVAL_SECONDS', 3_600, 1, intervalSecondsMax)) * 1000,
    usersPerRunMax: problems.read(() => envInteger(env, 'YUNITE_REVERIFY_USERS_PER_RUN', 100, 1, envUsersPerRunMax)),
  };
  problems.done();
  return options;
}
