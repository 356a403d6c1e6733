import { type FastifyReply, type FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { type LedgerConfig } from '../platform/config/config';
import { DomainError } from '../platform/errors/domain-error';
import { type ApiKeys } from './api-keys';
import { authenticateRequest } from './request-authentication';

export const RATE_LIMITS = Symbol('RATE_LIMITS');

/** Which limit a request counts against: its API key's, or its client IP's when it has no valid key. */
export type RateLimitKind = 'key' | 'ip';

export type RateLimitVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limit: RateLimitKind; readonly retryAfterSeconds: number };

/**
 * Per-key and per-IP request counters (SPEC §4.6), in fixed windows held in this process's memory:
 * each instance counts on its own, so N instances let a caller make N times the limit. A bucket is
 * forgotten when its window ends, so memory grows only with the callers of the current window.
 */
export class RateLimits {
  private readonly limiters: Readonly<Record<RateLimitKind, RateLimiterMemory | null>>;

  constructor(settings: LedgerConfig['rateLimit']) {
    this.limiters = {
      key: windowLimiter(settings.keyPerMinute, settings.windowSeconds),
      ip: windowLimiter(settings.ipPerMinute, settings.windowSeconds),
    };
  }

  get enabled(): boolean {
    return this.limiters.key !== null || this.limiters.ip !== null;
  }

  /** Counts one request against `id`'s bucket of the `kind` limit. */
  async consume(kind: RateLimitKind, id: string): Promise<RateLimitVerdict> {
    const limiter = this.limiters[kind];
    if (limiter === null) return { allowed: true };
    try {
      await limiter.consume(id, 1);
      return { allowed: true };
    } catch (rejection) {
      // The memory store rejects with the bucket's state when it is spent, and with nothing else.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return { allowed: false, limit: kind, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
    }
  }
}

/** A window's share of a per-minute limit, never less than one request; null when the limit is off. */
function windowLimiter(perMinute: number, windowSeconds: number): RateLimiterMemory | null {
  if (perMinute === 0) return null;
  return new RateLimiterMemory({ points: Math.max(1, Math.ceil((perMinute * windowSeconds) / 60)), duration: windowSeconds });
}

/**
 * The onRequest hook that counts every request, on every route and on unknown paths, before its
 * body is read and before any guard, pipe or handler runs; a spent bucket is 429 `rate_limited`
 * with Retry-After. A request with a live key counts against that key only: integrations often
 * share one address (a host, a NAT), and the key is what an operator grants and revokes, so one
 * busy integration must not spend another's allowance, nor the public's. Everything else (public
 * routes, no key, a wrong one) counts against the client's IP, which bounds key guessing.
 *
 * So the key is looked up before any bucket is charged, even for a client whose IP bucket is
 * spent: refusing it first would let public traffic behind the same address lock a live key out.
 * Past its IP limit, a client can still cost one indexed lookup per request with a well-formed
 * key (anything else is refused without one), and tell a live key (200) from a wrong one (429);
 * with 256-bit keys the second is no help to a guesser. Both are the price of that guarantee.
 */
export function rateLimitHook(limits: RateLimits, keys: ApiKeys): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    if (!limits.enabled) return;
    const presented = await authenticateRequest(request, keys);
    const verdict = presented.kind === 'key' ? await limits.consume('key', presented.record.keyId) : await limits.consume('ip', clientBucket(request.ip));
    if (verdict.allowed) return;
    void reply.header('retry-after', String(verdict.retryAfterSeconds));
    // The problem names the limit, never the key: a log or a proxy that keeps it leaks nothing.
    throw new DomainError(
      'rate_limited',
      `Too many requests for this ${verdict.limit === 'key' ? 'API key' : 'client address'}; retry after ${verdict.retryAfterSeconds} s`,
      429,
      { limit: verdict.limit, retryAfterSeconds: verdict.retryAfterSeconds },
    );
  };
}

/** The 16-bit groups of an IPv6 address that name its network: a /64 is what one host or home is given. */
const IPV6_NETWORK_GROUPS = 4;

/**
 * The per-IP bucket of a client address. An IPv6 client counts by its /64: a host picks the other
 * 64 bits itself (SLAAC, privacy addresses), so counted address by address, one client could make
 * as many requests as it liked. An IPv4 address counts as itself, also when written as an
 * IPv4-mapped IPv6 address (a dual-stack socket, a proxy), whose /64 every IPv4 client shares.
 * Anything else (no address at all) is its own bucket, as before. Parsed by ipaddr.js (Fastify's
 * proxy-addr uses it too), which reads every IPv6 form: `::`, a dotted IPv4 tail, a zone.
 */
export function clientBucket(address: string): string {
  if (!ipaddr.IPv6.isValid(address)) return address;
  const parsed = ipaddr.IPv6.parse(address);
  if (parsed.isIPv4MappedAddress()) return parsed.toIPv4Address().toString();
  return `${parsed.parts.slice(0, IPV6_NETWORK_GROUPS).map((group) => group.toString(16)).join(':')}::/64`;
}
