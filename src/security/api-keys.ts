import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';
import { DomainError } from '../platform/errors/domain-error';

/** What a key may do (SPEC §4.6). Scopes are independent: an admin key reads only with queries:read. */
export const API_KEY_SCOPES = ['commands:write', 'queries:read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const API_KEY_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A key: the prefix, then 32 random bytes (256 bits) in base64url. */
const KEY_PREFIX = 'p2s_';
const KEY_SHAPE = /^p2s_[A-Za-z0-9_-]{43}$/;

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly name: string;
  readonly scopes: readonly ApiKeyScope[];
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
}

/** The SHA-256 of a key, the only form in which it is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether `text` has a key's form, so that a message must not quote it. */
export function looksLikeApiKey(text: string): boolean {
  return text.startsWith(KEY_PREFIX);
}

export function isApiKeyScope(value: string): value is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(value);
}

const keyRow = z.object({
  key_id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  created_at: z.date(),
  expires_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
});

function recordOf(row: z.infer<typeof keyRow>): ApiKeyRecord {
  return {
    keyId: row.key_id,
    name: row.name,
    scopes: row.scopes.filter(isApiKeyScope),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/**
 * The api_keys table. A key is shown once, by `create`, and stored only as its hash; `authenticate`
 * hashes what a caller presents and looks that up, so the comparison never touches the key itself.
 */
export class ApiKeys {
  constructor(private readonly db: CommonQueryMethods) {}

  /** A new key named `name`. Answers the key, to be shown once, and its record. */
  async create(input: { name: string; scopes: readonly ApiKeyScope[]; expiresAt?: Date | null; now?: Date }): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!API_KEY_NAME.test(input.name)) {
      throw new DomainError('invalid_api_key_name', 'A key name is 1 to 64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit');
    }
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw new DomainError('invalid_api_key_scopes', `A key needs at least one scope of ${API_KEY_SCOPES.join(', ')}`);
    const now = input.now ?? new Date();
    if (input.expiresAt !== undefined && input.expiresAt !== null && input.expiresAt.getTime() <= now.getTime()) {
      throw new DomainError('invalid_api_key_expiry', 'A key must expire in the future');
    }
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = await this.db.maybeOne(sql.type(keyRow)`
      INSERT INTO api_keys (key_id, name, key_hash, scopes, created_at, expires_at)
      VALUES (${randomUUID()}, ${input.name}, ${hashApiKey(key)}, ${sql.array(scopes, 'text')}, ${now.toISOString()}::timestamptz,
              ${input.expiresAt?.toISOString() ?? null}::timestamptz)
      ON CONFLICT (name) DO NOTHING
      RETURNING key_id, name, scopes, created_at, expires_at, revoked_at`);
    if (row === null) throw new DomainError('api_key_name_taken', `A key named ${input.name} exists (or existed): names are never reused`, 409);
    return { key, record: recordOf(row) };
  }

  async list(): Promise<readonly ApiKeyRecord[]> {
    const rows = await this.db.any(sql.type(keyRow)`
      SELECT key_id, name, scopes, created_at, expires_at, revoked_at FROM api_keys ORDER BY created_at, name`);
    return rows.map(recordOf);
  }

  /** Revokes the key named `name`; false when there is none. Revoking twice keeps the first time. */
  async revoke(name: string, now: Date = new Date()): Promise<boolean> {
    const row = await this.db.maybeOne(sql.unsafe`
      UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now.toISOString()}::timestamptz) WHERE name = ${name} RETURNING name`);
    return row !== null;
  }

  /**
   * Revokes the key itself, for an operator who holds a leaked key and not its name. Answers the
   * key's name; null when no key is that one.
   */
  async revokeKey(key: string, now: Date = new Date()): Promise<string | null> {
    if (!KEY_SHAPE.test(key)) return null;
    return this.db.maybeOneFirst(sql.type(z.object({ name: z.string() }))`
      UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${now.toISOString()}::timestamptz) WHERE key_hash = ${hashApiKey(key)} RETURNING name`);
  }

  /** The record of a live key (not revoked, not expired); null for anything else. */
  async authenticate(key: string, now: Date = new Date()): Promise<ApiKeyRecord | null> {
    if (!KEY_SHAPE.test(key)) return null;
    const row = await this.db.maybeOne(sql.type(keyRow)`
      SELECT key_id, name, scopes, created_at, expires_at, revoked_at FROM api_keys WHERE key_hash = ${hashApiKey(key)}`);
    if (row === null || row.revoked_at !== null) return null;
    if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) return null;
    return recordOf(row);
  }
}

/**
 * How long a process goes on accepting a key it has looked up without looking again: the bound on
 * how late a revocation made elsewhere (the CLI) takes effect in a running service. Every request
 * otherwise pays a round trip to PostgreSQL before any work, the most frequent query of the service.
 */
export const API_KEY_CACHE_TTL_MS = 1_000;
/** Live keys remembered at once; a service has a handful, so this only bounds a pathological case. */
const API_KEY_CACHE_ENTRIES_MAX = 1_000;

/**
 * The request path's ApiKeys: `authenticate` remembers a live key's record for
 * API_KEY_CACHE_TTL_MS from when its lookup began, so a key revoked by another process is refused
 * at most that long after its revocation, however late the lookup's answer arrived (expiry is
 * still checked on every request, against the record). Refusals are never remembered, so a wrong
 * key costs a lookup every time, and a key revoked through this instance is forgotten at once.
 */
export class CachingApiKeys extends ApiKeys {
  private readonly live = new Map<string, { readonly record: ApiKeyRecord; readonly untilMs: number }>();
  /** Revocations through this instance so far: a lookup that saw one finish does not remember its answer. */
  private revocations = 0;

  constructor(
    db: CommonQueryMethods,
    private readonly ttlMs: number = API_KEY_CACHE_TTL_MS,
    private readonly clock: () => number = Date.now,
  ) {
    super(db);
  }

  override async authenticate(key: string, now: Date = new Date()): Promise<ApiKeyRecord | null> {
    if (!KEY_SHAPE.test(key)) return null;
    const hash = hashApiKey(key);
    const cached = this.live.get(hash);
    if (cached !== undefined && cached.untilMs > this.clock()) {
      const { expiresAt } = cached.record;
      return expiresAt !== null && expiresAt.getTime() <= now.getTime() ? null : cached.record;
    }
    this.live.delete(hash);
    // The row is read some time after this, and its answer may arrive much later still (a busy pool
    // or event loop), so the bound counts from here. A revocation through this instance that
    // finished meanwhile may have come after the read: its answer is then not remembered at all.
    const untilMs = this.clock() + this.ttlMs;
    const revocationsBefore = this.revocations;
    const record = await super.authenticate(key, now);
    if (record !== null && this.revocations === revocationsBefore && untilMs > this.clock()) {
      if (this.live.size >= API_KEY_CACHE_ENTRIES_MAX) this.live.clear();
      this.live.set(hash, { record, untilMs });
    }
    return record;
  }

  // The count goes up after the UPDATE, never before, so that a lookup that read the row live has
  // either remembered it already (and is forgotten here) or sees the count change; and also after
  // an UPDATE that failed, which may have committed before the connection broke.
  override async revoke(name: string, now: Date = new Date()): Promise<boolean> {
    try {
      return await super.revoke(name, now);
    } finally {
      this.revocations += 1;
      for (const [hash, entry] of this.live) if (entry.record.name === name) this.live.delete(hash);
    }
  }

  override async revokeKey(key: string, now: Date = new Date()): Promise<string | null> {
    try {
      return await super.revokeKey(key, now);
    } finally {
      this.revocations += 1;
      this.live.delete(hashApiKey(key));
    }
  }
}
