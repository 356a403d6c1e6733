import { Injectable, type PipeTransform } from '@nestjs/common';
import { RequestValidationError } from '../errors/problem';

/**
 * The query of a GET route that takes no parameters: any parameter given is refused with 422
 * `unknown_property`, as the routes with a query DTO refuse one they do not declare. Silently
 * ignored, a misspelt or unsupported parameter (`?minPosition=` on a route that does not wait)
 * would look as if it had been honoured.
 */
@Injectable()
export class NoQueryParametersPipe implements PipeTransform {
  transform(value: unknown): unknown {
    const [first] = typeof value === 'object' && value !== null ? Object.keys(value) : [];
    if (first !== undefined) {
      throw new RequestValidationError([{ field: first, code: 'unknown_property', message: `query parameter ${first} should not exist: this route takes none` }]);
    }
    return value;
  }
}
