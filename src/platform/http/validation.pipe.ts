import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { type FieldError, RequestValidationError } from '../errors/problem';

/**
 * Validates bodies, queries and params against their class-validator DTOs. Each decorator names
 * its rule's code in `context.code`, so the problem says which rule the input broke, e.g.
 * `invalid_discord_user_id`. Properties the DTO does not declare are refused (`unknown_property`).
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
    const instance = plainToInstance(dto, value ?? {}) as object;
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
