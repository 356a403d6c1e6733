import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { type FieldError, RequestValidationError } from '../errors/problem';

/**
 * Validates bodies, queries and params against their class-validator DTOs. Each decorator names
 * its rule's code in `context.code`, so the problem says which rule the input broke, e.g.
 * `invalid_discord_user_id`. Properties the DTO does not declare are refused (`unknown_property`).
 * A body property whose value is JSON null counts as not given (see withoutNullProperties).
 */
@Injectable()
export class RequestValidationPipe implements PipeTransform {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype;
    if (dto === undefined || [String, Boolean, Number, Array, Object].includes(dto as never)) return value;
    if (metadata.type === 'body' && (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new RequestValidationError([
        { field: '', code: 'invalid_request_body', message: 'The request body must be a JSON object' },
      ]);
    }
    const inherited = inheritedKeyIn(value);
    if (inherited !== null) {
      throw new RequestValidationError([{ field: inherited, code: 'unknown_property', message: `property ${inherited} should not exist` }]);
    }
    const given = metadata.type === 'body' ? withoutNullProperties(value) : value;
    const instance = plainToInstance(dto, given ?? {}) as object;
    const errors = await validate(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      stopAtFirstError: true,
    });
    if (errors.length > 0) throw new RequestValidationError(flatten(errors));
    return instance;
  }
}

/**
 * The first key, anywhere in the input, named like a member every object inherits (`constructor`,
 * `toString`, `__proto__`, …). class-transformer skips such keys without a word, so the whitelist
 * never sees them and `{"constructor": 1}` would pass as if it were not there; they are refused
 * like any other property the DTO does not declare. The walk is iterative: bodies are at most
 * JSON_DEPTH_MAX deep, but the walk does not rely on it.
 */
export function inheritedKeyIn(input: unknown): string | null {
  const pending: Array<{ value: unknown; path: string }> = [{ value: input, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    for (const [key, child] of Object.entries(next.value)) {
      const path = next.path === '' ? key : `${next.path}.${key}`;
      if (Object.prototype.hasOwnProperty.call(Object.prototype, key)) return path;
      pending.push({ value: child, path });
    }
  }
  return null;
}

/**
 * The body with every object property whose value is null left out, at any depth: a property set
 * to null counts as not given. Many serializers write an unset optional field as null, and
 * class-validator's IsOptional lets null through to the handlers, which read it as a value
 * (`"observedAt": null` was the time 0, 1970-01-01). A required property left null is refused as
 * missing, as IsDefined refused it before; an optional one takes its default. Array elements are
 * kept, so a null item is refused in its place. Bodies are at most JSON_DEPTH_MAX deep (checked
 * when they are parsed), which bounds the recursion.
 */
export function withoutNullProperties(input: unknown): unknown {
  if (Array.isArray(input)) return input.map(withoutNullProperties);
  if (typeof input !== 'object' || input === null) return input;
  return Object.fromEntries(
    Object.entries(input)
      .filter(([, child]) => child !== null)
      .map(([key, child]) => [key, withoutNullProperties(child)]),
  );
}

function flatten(errors: readonly ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix === '' ? error.property : `${prefix}.${error.property}`;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      code: codeOf(error, rule),
      message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function codeOf(error: ValidationError, rule: string): string {
  if (rule === 'whitelistValidation') return 'unknown_property';
  const context = error.contexts?.[rule] as { code?: unknown } | undefined;
  return typeof context?.code === 'string' ? context.code : `invalid_${error.property.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
}
