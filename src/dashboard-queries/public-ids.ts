import { createHmac } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';

/** What a public id stands for; the kind is part of what is hashed, so a player's and an accrual's never match. */
export type PublicIdKind = 'player' | 'accrual';

/** 32 hexadecimal characters: 128 bits of an HMAC-SHA256. */
export function publicId(key: string, kind: PublicIdKind, id: string): string {
  return createHmac('sha256', key).update(`${kind}:${id}`).digest('hex').slice(0, 32);
}

/**
 * The ids the public routes show instead of user and accrual ids (migrations/0025): an HMAC under
 * the deployment's key, read once. A user id would name the player to anyone who knows their
 * Discord id, since it is derived from it.
 */
export class PublicIds {
  private key: Promise<string> | null = null;

  constructor(private readonly pool: DatabasePool) {}

  /** A function from kind and id to the public id; the key is read at the first call. */
  async issuer(): Promise<(kind: PublicIdKind, id: string) => string> {
    this.key ??= this.pool.oneFirst(sql.type(z.object({ key: z.string() }))`SELECT key FROM public_id_key`).catch((error: unknown) => {
      this.key = null;
      throw error;
    });
    const key = await this.key;
    return (kind, id) => publicId(key, kind, id);
  }
}
