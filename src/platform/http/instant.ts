import { isISO8601, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';

/** `2026-01-01T00:00:00.000000000+00:00` is 35 characters; a longer time is not one we answer for. */
export const INSTANT_LENGTH_MAX = 40;

/**
 * A date and time with its zone, in ISO-8601 extended format. A date alone (its start or its
 * end?) and a time without a zone (whose clock? `Date` would read it on the server's) are refused
 * rather than guessed.
 */
const INSTANT_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;

/**
 * The instants taken: from the Unix epoch, which the ledger counts minutes from (an accrual's
 * `epochMinute`), to the end of 9999 in UTC. A year of four digits with its zone can fall outside
 * them, e.g. `9999-12-31T23:00:00-05:00`, whose UTC year 10000 PostgreSQL cannot read.
 */
const INSTANT_MIN_MS = 0;
const INSTANT_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The instant a time given in a request names (`observedAt`, `asOf`, `since`, …), or null when it
 * is not one this service takes. Checked three ways because each catches what the others let
 * through: class-validator's strict ISO-8601 refuses impossible dates that Date silently rolls
 * over (2026-02-30 → 2 March); the form refuses ISO-8601 that names no single instant (week and
 * ordinal dates, a date alone, no zone); and the result must be an instant from 1970 to 9999 in
 * UTC, which Date, the ledger's epoch minutes and PostgreSQL all hold, or the request would end
 * in a 500.
 */
export function parseInstant(text: unknown): Date | null {
  if (typeof text !== 'string' || text.length > INSTANT_LENGTH_MAX) return null;
  if (!INSTANT_FORM.test(text) || !isISO8601(text, { strict: true, strictSeparator: true })) return null;
  const at = new Date(text);
  const ms = at.getTime();
  return Number.isNaN(ms) || ms < INSTANT_MIN_MS || ms > INSTANT_MAX_MS ? null : at;
}

/** The message of a refused time: `<field> must be an ISO-8601 date and time with a zone, …`. */
export function instantMessage(field: string): string {
  return `${field} must be an ISO-8601 date and time with a zone, from 1970 to 9999, such as 2026-05-01T12:00:00Z`;
}

/**
 * A DTO property that must be a time `parseInstant` takes. Use it with the field's message and
 * code, under `@MaxLength(INSTANT_LENGTH_MAX, …)` (every string field declares its bound, as
 * test/dto-bounds.spec.ts checks):
 * `@Validate(IsInstantConstraint, { message: instantMessage('since'), context: { code } })`.
 */
@ValidatorConstraint({ name: 'isInstant' })
export class IsInstantConstraint implements ValidatorConstraintInterface {
  /** What an OpenAPI schema can say of the rule (src/platform/http/openapi.ts reads it). */
  static readonly openApi = { type: 'string', format: 'date-time', maxLength: INSTANT_LENGTH_MAX } as const;

  validate(value: unknown): boolean {
    return parseInstant(value) !== null;
  }

  defaultMessage(): string {
    return instantMessage('the time');
  }
}
