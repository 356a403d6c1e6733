import { strict as assert } from 'node:assert';
import { BodyTooLargeError, readBodyBounded } from '../../platform/http/read-body-bounded';
import { LIFETIME_KILLS_MAX } from '../../identity/link-epic-account/link-epic-account.dto';
import { parseRetryAfterMs } from '../../platform/http/retry-after';

/**
 * A client for the Fortnite stats API (modelled on fortnite-api.com, BR stats v2 by account id):
 *
 *   GET {baseUrl}/v2/stats/br/v2/{accountId}      Authorization: <apiKey>
 *   200 {status: 200, data: {account: {id, name}, stats: {all: {overall: {kills, ...}}}}}
 *       (taken only when `account.id` is the id asked about, compared without case)
 *   404 unknown account · 403 stats not public · 429 rate-limited · 401 key missing or wrong
 *
 * It reads one number, the lifetime kill count, and turns every way of not getting it into a
 * typed error with a stable `code`, because §4.1 says a baseline that cannot be read refuses the
 * link with a clear error and is never assumed to be 0.
 */
export interface FortniteStatsConfig {
  baseUrl: string;
  /** Sent verbatim in `Authorization`. Null sends no header (the API then answers 401). */
  apiKey: string | null;
  /** Covers the whole exchange: connecting, the status line and reading the body. */
  timeoutMs: number;
}

/** Why stats could not be read, for logs and metrics; `code` stays `stats_unavailable` for all. */
export type FortniteStatsUnavailableReason =
  | 'timeout'
  | 'network'
  | 'server_error'
  | 'unauthorized'
  | 'unexpected_status'
  | 'malformed';

/**
 * The base of every error this client throws. Messages carry the account id and the status, never
 * the API key, so they are safe to log and to show.
 */
export abstract class FortniteStatsError extends Error {
  abstract readonly code: string;

  constructor(
    readonly epicAccountId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The API could not give an answer we trust: network, timeout, 5xx, 401 or a malformed body. */
export class FortniteStatsUnavailableError extends FortniteStatsError {
  readonly code = 'stats_unavailable';

  constructor(
    epicAccountId: string,
    readonly reason: FortniteStatsUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(epicAccountId, message, options);
  }
}

/** 429. `retryAfterMs` is the server's Retry-After in milliseconds, or null when it gave none. */
export class FortniteStatsRateLimitedError extends FortniteStatsError {
  readonly code = 'stats_rate_limited';

  constructor(
    epicAccountId: string,
    readonly retryAfterMs: number | null,
  ) {
    super(
      epicAccountId,
      retryAfterMs === null
        ? 'The Fortnite stats API is rate-limiting us (429) and gave no Retry-After.'
        : `The Fortnite stats API is rate-limiting us (429); retry after ${retryAfterMs} ms.`,
    );
  }
}

/** 404: the API knows no such Epic account (or it has never played Battle Royale). */
export class FortniteAccountNotFoundError extends FortniteStatsError {
  readonly code = 'epic_account_not_found';

  constructor(epicAccountId: string) {
    super(epicAccountId, `The Fortnite stats API knows no Epic account ${epicAccountId} (404).`);
  }
}

/** 403: the player has made their stats private; they must make them public to be paid. */
export class FortniteStatsPrivateError extends FortniteStatsError {
  readonly code = 'stats_private';

  constructor(epicAccountId: string) {
    super(epicAccountId, `The stats of Epic account ${epicAccountId} are private (403).`);
  }
}

/**
 * A full BR stats answer is tens of kilobytes. Anything far larger is not the answer we asked for,
 * and reading it without a bound would let a broken upstream exhaust our memory.
 */
const responseBodyMaxBytes = 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FortniteStatsClient {
  private readonly baseUrl: string;

  constructor(private readonly config: FortniteStatsConfig) {
    assert(Number.isSafeInteger(config.timeoutMs) && config.timeoutMs > 0, 'timeoutMs must be a positive integer');
    const url = new URL(config.baseUrl);
    assert(url.protocol === 'http:' || url.protocol === 'https:', 'baseUrl must be an http(s) URL');
    // A trailing slash would otherwise produce `//v2/...`, which some gateways answer with 404.
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
  }

  /** The account's lifetime Battle Royale kills over all inputs and modes (`stats.all.overall.kills`). */
  async getLifetimeKills(epicAccountId: string): Promise<bigint> {
    assert(epicAccountId.length > 0 && epicAccountId.length <= 64, 'epicAccountId must be 1 to 64 characters');
    const url = `${this.baseUrl}/v2/stats/br/v2/${encodeURIComponent(epicAccountId)}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.config.apiKey !== null) headers.authorization = this.config.apiKey;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs);
    let status: number;
    let body: string | null;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, { method: 'GET', headers, signal: controller.signal, redirect: 'error' });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      if (status === 200) {
        body = await readBodyBounded(response, responseBodyMaxBytes);
      } else {
        // The error bodies carry nothing we act on; cancelling frees the connection at once.
        await response.body?.cancel().catch(() => undefined);
        body = null;
      }
    } catch (error) {
      if (controller.signal.aborted) {
        throw new FortniteStatsUnavailableError(
          epicAccountId,
          'timeout',
          `The Fortnite stats API did not answer within ${this.config.timeoutMs} ms.`,
          { cause: error },
        );
      }
      if (error instanceof BodyTooLargeError) {
        throw new FortniteStatsUnavailableError(epicAccountId, 'malformed', error.message);
      }
      throw new FortniteStatsUnavailableError(epicAccountId, 'network', 'The Fortnite stats API could not be reached.', {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }

    switch (status) {
      case 200:
        return this.parseKills(epicAccountId, body);
      case 404:
        throw new FortniteAccountNotFoundError(epicAccountId);
      case 403:
        throw new FortniteStatsPrivateError(epicAccountId);
      case 429:
        throw new FortniteStatsRateLimitedError(epicAccountId, parseRetryAfterMs(retryAfter, Date.now()));
      case 401:
        // Our key is missing or wrong: an operator problem, not the player's, so it must not read
        // as "not found" or "private" to them.
        throw new FortniteStatsUnavailableError(
          epicAccountId,
          'unauthorized',
          'The Fortnite stats API refused our API key (401); check the configured key.',
        );
      default:
        throw new FortniteStatsUnavailableError(
          epicAccountId,
          status >= 500 ? 'server_error' : 'unexpected_status',
          `The Fortnite stats API answered ${status}.`,
        );
    }
  }

  private parseKills(epicAccountId: string, body: string | null): bigint {
    const malformed = (what: string): FortniteStatsUnavailableError =>
      new FortniteStatsUnavailableError(epicAccountId, 'malformed', `The Fortnite stats API answered 200 with ${what}.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body ?? '');
    } catch {
      throw malformed('a body that is not JSON');
    }
    if (!isRecord(parsed) || !isRecord(parsed.data)) throw malformed('no data object');
    if (parsed.status !== undefined && parsed.status !== 200) throw malformed(`status ${String(parsed.status)} in the body`);
    const { account, stats } = parsed.data;
    // Kills of another account would be paid to the wrong player, so the answer must name the
    // account it is for: one that names none cannot be checked and is not taken either. Ids are
    // compared without case because Epic ids are hex and upstreams differ in the case they echo.
    if (!isRecord(account) || typeof account.id !== 'string') throw malformed('no data.account.id');
    if (account.id.toLowerCase() !== epicAccountId.toLowerCase()) throw malformed('the stats of another account');
    const overall = isRecord(stats) && isRecord(stats.all) ? stats.all.overall : undefined;
    // No overall block means no kill count, which is not the same thing as zero kills (§4.1).
    if (!isRecord(overall)) throw malformed('no stats.all.overall block');
    const kills = overall.kills;
    if (typeof kills !== 'number' || !Number.isSafeInteger(kills) || kills < 0) {
      throw malformed('a kill count that is not a non-negative safe integer');
    }
    // The count the HTTP API refuses as a broken integration's is a broken upstream's here: taken,
    // it would be an impossible_delta whose skip moves the user's high-water mark there for good,
    // and no real count would ever accrue again (or, as a link's baseline, none would from the start).
    if (kills > LIFETIME_KILLS_MAX) throw malformed(`a kill count above ${LIFETIME_KILLS_MAX}`);
    return BigInt(kills);
  }
}

