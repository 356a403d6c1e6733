import { Injectable, type PipeTransform } from '@nestjs/common';
import { RequestValidationError } from '../errors/problem';
import { inheritedKeyIn, withoutNullProperties } from './validation.pipe';

/**
 * Whether a route takes no body: it reads none (no `@Body()`) on a method that carries one. Such a
 * route takes none, or `{}` (NoBodyPipe). Fastify never reads the body of a GET, HEAD or TRACE, so
 * a handler of one sees none, whatever was sent. The hook that refuses a body, the OpenAPI
 * description and the fuzz test all judge a route by this one rule.
 */
export function takesNoBody(method: string, readsBody: boolean): boolean {
  return !BODYLESS_METHODS.has(method.toUpperCase()) && !readsBody;
}

const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'TRACE']);

/**
 * The body of a route that takes none (README "HTTP API"): none, a blank one, or the empty object
 * `{}` is taken (clients, and the README's own examples, send `-d '{}'`); an object with any
 * property is 422 `unknown_property` naming the first, except one set to null, which counts as not
 * given, as on the routes whose body a DTO validates (RequestValidationPipe); any other JSON value
 * (an array, a number, a string, true, null) is 422 `invalid_request_body`. The codes and fields
 * are those of the routes whose body a DTO validates. Ignored, `{"force": true}` or `{"reason":
 * "…"}` sent to `POST /v1/admin/payouts/:payoutId/retry` looked taken, and the retry was appended.
 */
@Injectable()
export class NoBodyPipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (value === undefined) return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new RequestValidationError([{ field: '', code: 'invalid_request_body', message: 'The request body must be a JSON object: this route takes none, so send none or {}' }]);
    }
    // Judged as RequestValidationPipe judges a body: a key every object inherits (`constructor`, …)
    // is refused even when null, and a property set to null counts as not given.
    const inherited = inheritedKeyIn(value);
    const [first] = inherited !== null ? [inherited] : Object.keys(withoutNullProperties(value) as object);
    if (first !== undefined) {
      throw new RequestValidationError([{ field: first, code: 'unknown_property', message: `property ${first} should not exist: this route takes no body` }]);
    }
    return value;
  }
}
