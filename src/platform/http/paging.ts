import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { DomainError } from '../errors/domain-error';

export const PAGE_LIMIT_MAX = 100;
export const PAGE_LIMIT_DEFAULT = 50;

/** `?minPosition=` of every read-model query (SPEC §5): wait until the answer includes that position. */
export class MinPositionQueryDto {
  /** A `position` returned by a command; the answer then includes that command's effect. */
  @IsOptional()
  @Matches(/^[0-9]{1,19}$/, { message: 'minPosition must be a position returned by a command', context: { code: 'invalid_min_position' } })
  readonly minPosition?: string;
}

export function minPositionOf(query: MinPositionQueryDto): bigint | null {
  return query.minPosition === undefined ? null : BigInt(query.minPosition);
}

/** `?limit=&cursor=` of every paged query (SPEC §5: limit ≤ 100, opaque cursor), and `?minPosition=`. */
export class PageQueryDto extends MinPositionQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer', context: { code: 'invalid_limit' } })
  @Min(1, { message: 'limit must be at least 1', context: { code: 'invalid_limit' } })
  @Max(PAGE_LIMIT_MAX, { message: `limit must be at most ${PAGE_LIMIT_MAX}`, context: { code: 'invalid_limit' } })
  readonly limit?: number;

  @IsOptional()
  @IsString({ message: 'cursor must be a string', context: { code: 'invalid_cursor' } })
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/** Cursors are base64url JSON, opaque to callers; a tampered one is a 422, never a 500. */
export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, keys: readonly K[]): Record<K, string> | null {
  if (cursor === undefined) return null;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    const decoded = {} as Record<K, string>;
    for (const key of keys) {
      const field = value[key];
      if (typeof field !== 'string' && typeof field !== 'number') throw new Error(`missing ${key}`);
      if (!/^\d{1,19}$/.test(String(field))) throw new Error(`${key} is not a position`);
      decoded[key] = String(field);
    }
    return decoded;
  } catch {
    throw new DomainError('invalid_cursor', 'cursor is not one this API returned');
  }
}
