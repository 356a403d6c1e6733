import { createHash } from 'node:crypto';
import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { Transform } from 'class-transformer';
import { DomainError } from '../errors/domain-error';
import { type OpenApiDescribedConstraint } from './openapi';

export const PAGE_LIMIT_MAX = 100;
export const PAGE_LIMIT_DEFAULT = 50;

const LIMIT_CODE = { context: { code: 'invalid_limit' } } as const;

/**
 * The rules of every `?limit=` (code `invalid_limit`): optional, a whole number written in decimal
 * digits, 1 to PAGE_LIMIT_MAX. Only digits become a number: `Number()` alone also read `0x10`,
 * `1e1` and ` 5` as limits. class-validator checks a property's rules in the order they are
 * applied and stops at the first broken, so the integer rule goes first: `abc` is "not a whole
 * number", not "at most 100".
 */
export const LimitRules = (): PropertyDecorator =>
  applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value)),
    IsInt({ message: 'limit must be a whole number written in decimal digits', ...LIMIT_CODE }),
    Min(1, { message: 'limit must be at least 1', ...LIMIT_CODE }),
    Max(PAGE_LIMIT_MAX, { message: `limit must be at most ${PAGE_LIMIT_MAX}`, ...LIMIT_CODE }),
  );

/** Cursors this API returns are under 100 characters; the bound leaves room and no more. */
export const CURSOR_LENGTH_MAX = 512;

/** Positions are PostgreSQL bigints (checkpoints, read models): none is larger. */
export const POSITION_MAX = 9_223_372_036_854_775_807n;

/** A position written in decimal, as commands return them: 1 to 19 digits, at most POSITION_MAX. */
export function isPosition(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9]{1,19}$/.test(value) && BigInt(value) <= POSITION_MAX;
}

@ValidatorConstraint({ name: 'isPosition' })
export class IsPositionConstraint implements ValidatorConstraintInterface {
  /** What OpenAPI can say of the rule: decimal digits (isPosition also caps the value at 2^63 − 1). */
  static readonly openApi: OpenApiDescribedConstraint['openApi'] = { type: 'string', pattern: '^[0-9]{1,19}$' };

  validate(value: unknown): boolean {
    return isPosition(value);
  }

  defaultMessage(): string {
    return 'minPosition must be a position returned by a command';
  }
}

const MIN_POSITION_CODE = { context: { code: 'invalid_min_position' } };

/** The rules of `?minPosition=`: optional, a position at most 19 digits long. */
const MinPositionRules = (): PropertyDecorator =>
  applyDecorators(
    IsOptional(),
    Validate(IsPositionConstraint, MIN_POSITION_CODE),
    MaxLength(19, { message: 'minPosition must be a position returned by a command', ...MIN_POSITION_CODE }),
  );

const MIN_POSITION_DOC = {
  description: 'A `position` a command returned: the answer waits (at most 5 s) until it includes that command\'s effect, else 503 `read_model_behind`.',
  example: '1234',
} as const;

/** `?minPosition=` of every read-model query (SPEC §5): wait until the answer includes that position. */
export class MinPositionQueryDto {
  /** A `position` returned by a command; the answer then includes that command's effect. */
  @ApiPropertyOptional(MIN_POSITION_DOC)
  @MinPositionRules()
  readonly minPosition?: string;
}

export function minPositionOf(query: MinPositionQueryDto): bigint | null {
  return query.minPosition === undefined ? null : BigInt(query.minPosition);
}

/**
 * `?limit=&cursor=` of every paged query (SPEC §5: limit ≤ 100, opaque cursor). On its own for a
 * page read from the event store itself (a user's history), which is never behind.
 */
export class CursorPageQueryDto {
  @ApiPropertyOptional({ description: `Items per page, 1 to ${PAGE_LIMIT_MAX}; default ${PAGE_LIMIT_DEFAULT}.`, example: 20 })
  @LimitRules()
  readonly limit?: number;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page; absent for the first page. Opaque: never build one.', example: 'eyJwIjoiMTIzNCJ9' })
  @IsOptional()
  @IsString({ message: 'cursor must be a string', context: { code: 'invalid_cursor' } })
  @MaxLength(CURSOR_LENGTH_MAX, { message: 'cursor is not one this API returned', context: { code: 'invalid_cursor' } })
  readonly cursor?: string;
}

/** `?limit=&cursor=` and `?minPosition=` of a page read from the read models. */
export class PageQueryDto extends CursorPageQueryDto {
  /** A `position` returned by a command; the answer then includes that command's effect. */
  @ApiPropertyOptional(MIN_POSITION_DOC)
  @MinPositionRules()
  readonly minPosition?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/**
 * Cursors are base64url JSON, opaque to callers; a malformed one is a 422, never a 500. Each names
 * the list it pages (`scope`: the route, and the user or filters it lists, as a digest), so a
 * cursor of one list is refused on another, where it would silently page from a wrong place (a
 * page that leaves items out and says it is the last). They are not signed: a place edited inside
 * a cursor of the list's own pages that list from there, which shows the caller nothing the list's
 * first page and its cursors would not.
 */
export function encodeCursor(scope: string, value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify({ ...value, s: scopeDigest(scope) }), 'utf8').toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, scope: string, keys: readonly K[]): Record<K, string> | null {
  if (cursor === undefined) return null;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    if (value.s !== scopeDigest(scope)) throw new Error('a cursor of another list');
    const decoded = {} as Record<K, string>;
    for (const key of keys) {
      const field = value[key];
      if (typeof field !== 'string' && typeof field !== 'number') throw new Error(`missing ${key}`);
      // A value past the bigint range would fail the SQL cast: a 500 instead of a 422.
      if (!isPosition(String(field))) throw new Error(`${key} is not a position`);
      decoded[key] = String(field);
    }
    return decoded;
  } catch {
    throw new DomainError('invalid_cursor', 'cursor is not one this API returned');
  }
}

/** The first 16 hexadecimal characters of the scope's SHA-256: enough to tell lists apart, and it keeps cursors short. */
function scopeDigest(scope: string): string {
  return createHash('sha256').update(scope).digest('hex').slice(0, 16);
}
