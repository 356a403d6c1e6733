import assert from 'node:assert/strict';
import { BodyTooLargeError, readBodyBounded } from '../../platform/http/read-body-bounded';
import { parseRetryAfterMs } from '../../platform/http/retry-after';
import { z } from 'zod';
import { ConfigError, configProblems, type Env, envInteger, envText, envUrl } from '../../platform/config/config';
import { DomainError } from '../../platform/errors/domain-error';

/*
 * A client for one Yunite endpoint: "Get user links" of Yunite's public API v3, as documented at
 * https://yunite.xyz/docs/developers/registrationdata (request and response schema) and
 * https://yunite.xyz/docs/developers/authentication (the `Y-Api-Token` header and the meaning of
 * 400, 401, 402, 403, 404, 429 and 5xx). The older v2 API (docs.yunite.xyz/api-docs, `Y-Api-Key`,
 * `/servers/:id/regsys/...`) is not used.
 *
 *   POST {baseUrl}/v3/guild/{guildId}/registration/links
 *   Y-Api-Token: <apiKey>
 *   { "type": "DISCORD", "userIds": ["<discordId>"] }
 *
 *   200 { "users": [{ "discord": { "id", "name", "avatar" }, "epic": { "epicID", "epicName" },
 *                     "dateVerified", "chosenPlatform", "chosenPeripheral" }],
 *         "notLinked": ["<id found in the guild but not linked>"],
 *         "notFound": ["<id not in the guild>"] }
 */

export interface YuniteConfig {
  baseUrl: string;
  apiKey: string;
  guildId: string;
  timeoutMs: number;
}

export type YuniteLookup =
  | { kind: 'linked'; epicAccountId: string; epicDisplayName: string | null }
  | { kind: 'not_linked' };

/**
 * The Yunite errors are DomainErrors so that one escaping a request handler still becomes a
 * problem+json answer with its stable code (503: a dependency of ours is not usable right now),
 * not an anonymous 500. Handlers that record a `VerificationRecorded` with status `error` switch
 * on `code` instead.
 */
export class YuniteUnavailableError extends DomainError {
  declare readonly code: 'yunite_unavailable';

  constructor(
    message: string,
    /** The HTTP status Yunite answered with, or null when no answer (or no usable one) came back. */
    readonly httpStatus: number | null = null,
    options?: { cause?: unknown },
  ) {
    super('yunite_unavailable', message, 503);
    this.name = 'YuniteUnavailableError';
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export class YuniteRateLimitedError extends DomainError {
  declare readonly code: 'yunite_rate_limited';

  constructor(
    message: string,
    /** How long Yunite asked us to wait (its Retry-After header), or null when it did not say. */
    readonly retryAfterMs: number | null,
  ) {
    super('yunite_rate_limited', message, 503, { retryAfterMs });
    this.name = 'YuniteRateLimitedError';
  }
}

export class YuniteAuthError extends DomainError {
  declare readonly code: 'yunite_unauthorized';

  constructor(
    message: string,
    readonly httpStatus: number,
  ) {
    super('yunite_unauthorized', message, 503);
    this.name = 'YuniteAuthError';
  }
}

export type YuniteError = YuniteUnavailableError | YuniteRateLimitedError | YuniteAuthError;

/** One Discord id is asked at a time, so an honest answer is tiny; anything this big is not one. */
const responseBytesMax = 1_048_576;
/** Discord snowflakes, as RegisterUserDto accepts them. */
const discordSnowflake = /^[0-9]{17,20}$/;
/**
 * Epic account ids, as the integration's PUT accepts them. Another string would be linked as an id
 * no stats lookup knows, or, with a NUL byte, refused by PostgreSQL as a 500: an answer Yunite
 * cannot mean, so unavailable, and nothing is recorded.
 */
const epicAccountIdPattern = /^[0-9a-fA-F]{32}$/;

const linksResponseSchema = z.object({
  users: z.array(
    z.object({
      discord: z.object({ id: z.string().min(1) }),
      epic: z.object({
        epicID: z.string().regex(epicAccountIdPattern),
        epicName: z.string().nullish(),
      }),
    }),
  ),
  // The schema on the docs page lists both arrays; an answer that leaves an empty one out is
  // still understood, because the lookup below insists that the asked id appears somewhere.
  notLinked: z.array(z.string()).optional(),
  notFound: z.array(z.string()).optional(),
});

export class YuniteClient {
  private readonly linksUrl: string;

  constructor(private readonly config: YuniteConfig) {
    assert(Number.isInteger(config.timeoutMs) && config.timeoutMs > 0, 'YuniteConfig.timeoutMs must be a positive integer');
    assert(config.apiKey.length > 0, 'YuniteConfig.apiKey must not be empty');
    assert(config.guildId.length > 0, 'YuniteConfig.guildId must not be empty');
    const base = new URL(config.baseUrl);
    assert(base.protocol === 'https:' || base.protocol === 'http:', 'YuniteConfig.baseUrl must be an http(s) URL');
    this.linksUrl = `${config.baseUrl.replace(/\/+$/, '')}/v3/guild/${encodeURIComponent(config.guildId)}/registration/links`;
  }

  /**
   * Asks Yunite which Epic account the Discord user has linked in our guild. A user who is not in
   * the guild (`notFound`) is reported as not linked too: either way there is no Epic account to
   * pay. Nothing is retried here; the caller decides (the verify command records `error`, the
   * reverification scheduler ends its run on a rate limit).
   */
  async lookupEpicAccount(discordUserId: string): Promise<YuniteLookup> {
    assert(discordSnowflake.test(discordUserId), 'lookupEpicAccount needs a Discord snowflake (17 to 20 digits)');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs);
    try {
      const response = await this.post(discordUserId, controller);
      const text = await this.readBody(response, controller);
      return this.decode(text, discordUserId);
    } finally {
      clearTimeout(timer);
    }
  }

  private async post(discordUserId: string, controller: AbortController): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.linksUrl, {
        method: 'POST',
        headers: { 'Y-Api-Token': this.config.apiKey, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ type: 'DISCORD', userIds: [discordUserId] }),
        signal: controller.signal,
        // fetch strips only `Authorization` on a cross-origin redirect, so following one would
        // hand our `Y-Api-Token` to whichever host the redirect names. Yunite does not redirect.
        redirect: 'error',
      });
    } catch (error) {
      throw this.transportError(error, controller);
    }
    if (response.ok) return response;

    // Nothing in an error body is needed; cancelling it frees the connection right away.
    await response.body?.cancel().catch(() => undefined);
    const status = response.status;
    if (status === 429) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), Date.now());
      throw new YuniteRateLimitedError(
        `Yunite rate-limited the request${retryAfterMs === null ? '' : `; retry after ${retryAfterMs} ms`}`,
        retryAfterMs,
      );
    }
    // 402 means the guild has no active Premium subscription: like a wrong key or a guild the key
    // is not authorised for, only the operator can fix it, and retrying will not help.
    if (status === 401 || status === 402 || status === 403) {
      throw new YuniteAuthError(
        `Yunite refused the request with HTTP ${status}: check YUNITE_API_KEY, YUNITE_GUILD_ID and the guild's subscription`,
        status,
      );
    }
    if (status === 404) {
      throw new YuniteUnavailableError('Yunite answered HTTP 404 (route not found): check YUNITE_BASE_URL', status);
    }
    throw new YuniteUnavailableError(`Yunite answered HTTP ${status}`, status);
  }

  private async readBody(response: Response, controller: AbortController): Promise<string> {
    try {
      return await readBodyBounded(response, responseBytesMax);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new YuniteUnavailableError(`Yunite's answer is larger than ${responseBytesMax} bytes`, response.status);
      }
      throw this.transportError(error, controller);
    }
  }

  private decode(text: string, discordUserId: string): YuniteLookup {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new YuniteUnavailableError('Yunite answered with a body that is not JSON', 200);
    }
    const parsed = linksResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new YuniteUnavailableError('Yunite answered with JSON that does not match the registration links schema', 200);
    }
    const body = parsed.data;
    const links = body.users.filter((candidate) => candidate.discord.id === discordUserId);
    const notLinked = body.notLinked?.includes(discordUserId) === true || body.notFound?.includes(discordUserId) === true;
    // Lower case, as the integration's PUT links it, so one account is one id whichever path linked it.
    const epicAccountIds = new Set(links.map((link) => link.epic.epicID.toLowerCase()));
    // An answer that says two things of the asked id (two Epic accounts, or linked and not) says
    // nothing we can act on: taking either could link, or stop paying, on the strength of a Yunite bug.
    if (epicAccountIds.size > 1 || (epicAccountIds.size === 1 && notLinked)) {
      throw new YuniteUnavailableError('Yunite answered with contradictory links for the requested Discord user', 200);
    }
    const user = links[0];
    if (user !== undefined) {
      return { kind: 'linked', epicAccountId: user.epic.epicID.toLowerCase(), epicDisplayName: user.epic.epicName ?? null };
    }
    if (notLinked) return { kind: 'not_linked' };
    // An answer that does not mention the asked id says nothing about it; calling that "not
    // linked" would stop a player's payouts on the strength of a Yunite bug.
    throw new YuniteUnavailableError('Yunite answered without mentioning the requested Discord user', 200);
  }

  private transportError(error: unknown, controller: AbortController): YuniteUnavailableError {
    if (controller.signal.aborted) {
      return new YuniteUnavailableError(`Yunite did not answer within ${this.config.timeoutMs} ms`);
    }
    // The cause (an undici socket or DNS error) names hosts and ports, never request headers.
    return new YuniteUnavailableError('Yunite could not be reached (network error)', null, { cause: error });
  }
}

/**
 * Yunite is optional: without a key and a guild, verification is left to trusted integrations. One
 * set without the other is refused (the other misspelt, say), not taken as Yunite off.
 */
export function yuniteConfigFromEnv(env: Env): YuniteConfig | null {
  const apiKey = envText(env, 'YUNITE_API_KEY');
  const guildId = envText(env, 'YUNITE_GUILD_ID');
  if (apiKey === null && guildId === null) return null;
  if (apiKey === null || guildId === null) {
    const [set, unset] = apiKey === null ? ['YUNITE_GUILD_ID', 'YUNITE_API_KEY'] : ['YUNITE_API_KEY', 'YUNITE_GUILD_ID'];
    throw new ConfigError(`${set} is set but ${unset} is not: Yunite needs both (set ${unset}, or unset ${set})`);
  }
  const problems = configProblems();
  if (!discordSnowflake.test(guildId)) problems.list.push(`YUNITE_GUILD_ID must be a Discord guild id: 17 to 20 digits (got ${guildId})`);
  const config = {
    baseUrl: problems.read(() => envUrl(env, 'YUNITE_BASE_URL', 'https://yunite.xyz/api', { pathsAppended: true })),
    apiKey,
    guildId,
    timeoutMs: problems.read(() => envInteger(env, 'YUNITE_TIMEOUT_MS', 5_000, 1, 120_000)),
  };
  problems.done();
  return config;
}
