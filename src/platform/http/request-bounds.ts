import { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { type Socket } from 'node:net';
import { DomainError } from '../errors/domain-error';
import { sendProblem } from '../errors/problem-details.filter';
import { problem } from '../errors/problem';
import { type Logger } from '../logging/logger';

/** The longest URL (path and query string) served; the longest honest one is well under 1 KiB. */
export const URL_LENGTH_MAX = 4_096;

/** The longest path segment the router takes as a parameter: every id is a UUID (36 characters). */
export const PATH_PARAMETER_LENGTH_MAX = 100;

/** How deep a JSON body may nest; the deepest DTO is three levels ({observations: [{...}]}). */
export const JSON_DEPTH_MAX = 16;

/** Half a surrogate pair: with the u flag a whole pair is one code point, so only a lone half matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The `charset` parameter of a Content-Type, quoted or not (RFC 9110 §5.6.6). */
const CHARSET_PARAMETER = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;

/**
 * Whether a JSON body's Content-Type names a charset other than UTF-8. JSON between systems is
 * UTF-8 (RFC 8259 §8.1), which is all the parser reads; a body that says it is written in
 * another (ISO-8859-1, UTF-16) would be misread, so it is refused with 415 (RFC 9110 §15.5.16).
 * No charset means UTF-8, and `utf8` is taken as the common misspelling of it.
 */
export function charsetRefused(contentType: string | undefined): boolean {
  const match = CHARSET_PARAMETER.exec(contentType ?? '');
  if (match === null) return false;
  const charset = (match[1] ?? match[2] ?? '').toLowerCase();
  return charset !== 'utf-8' && charset !== 'utf8';
}

/**
 * Whether a body's Content-Encoding names any coding but `identity` (RFC 9110 §8.4): gzip,
 * deflate, br or one unknown. The parser reads the bytes as they come, so a compressed body was
 * read as JSON (and failed as invalid_utf8), and a plain body labelled gzip was taken as it stood;
 * either is refused with 415 (§15.5.16) before it is read. No header, or an empty one, is identity.
 */
export function contentEncodingRefused(contentEncoding: string | undefined): boolean {
  return (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .some((coding) => coding !== '' && coding !== 'identity');
}

/**
 * The bound a parsed JSON body breaks, if any, in one walk:
 *
 * - `json_too_deep` when it nests deeper than `depthMax` arrays and objects. The transformer and
 *   validator after the parser recurse, and a hostile body of a million brackets would overflow
 *   their stack: a 500 instead of a 400.
 * - `nul_character` when a string or key anywhere holds the NUL character (U+0000). JSON may carry
 *   it (as \u0000), but PostgreSQL can hold it in neither text nor jsonb, so a field that reached a
 *   column or an event with it failed in the database, as a 500.
 * - `lone_surrogate` when a string or key holds half a UTF-16 surrogate pair (\ud83d alone). JSON
 *   text may carry it as an escape, but it is no Unicode text: jsonb refuses it, so an event with
 *   it failed to append, as a 500 (an abuse flag's or a payout's `reason`).
 *
 * A body that breaks the depth and another bound is `json_too_deep`, the first bound the parser has
 * always checked, and one with both the NUL and a lone surrogate is `nul_character`: what a string
 * holds is remembered and the walk goes on, and only a walk that ends within the depth answers it.
 * Iterative, with one frame (the entries of an array or object) per level open on the way down
 * from the root, so its stack never holds more than `depthMax` frames however deep the body is, and
 * each value is visited once.
 */
export function jsonBoundBroken(value: unknown, depthMax: number): 'json_too_deep' | 'nul_character' | 'lone_surrogate' | null {
  const open: Array<Iterator<[string, unknown]>> = [];
  let holdsNul = false;
  let holdsLoneSurrogate = false;
  const remember = (text: string): void => {
    holdsNul ||= text.includes('\u0000');
    holdsLoneSurrogate ||= LONE_SURROGATE.test(text);
  };
  let current = value;
  for (;;) {
    if (typeof current === 'string') {
      remember(current);
    } else if (typeof current === 'object' && current !== null) {
      if (open.length >= depthMax) return 'json_too_deep';
      open.push(Object.entries(current)[Symbol.iterator]());
    }
    // The next entry of the innermost open array or object that has one left.
    let entry = open.at(-1)?.next();
    while (entry !== undefined && entry.done === true) {
      open.pop();
      entry = open.at(-1)?.next();
    }
    if (entry === undefined) return holdsNul ? 'nul_character' : holdsLoneSurrogate ? 'lone_surrogate' : null;
    const [key, child] = entry.value;
    remember(key);
    current = child;
  }
}

/**
 * Errors the router raises before any hook, guard or filter runs; Fastify would answer them with
 * its own JSON. They leave as problem+json with a stable code like everything else.
 */
export function frameworkErrorHandler(logger: Logger): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    switch (error.code) {
      case 'FST_ERR_BAD_URL':
        sendProblem(logger, request, reply, new DomainError('invalid_url', 'The URL path has a percent-encoding that does not decode', 400));
        return;
      case 'FST_ERR_MAX_PARAM_LENGTH':
        sendProblem(
          logger,
          request,
          reply,
          new DomainError('path_parameter_too_long', `A path parameter is longer than ${PATH_PARAMETER_LENGTH_MAX} characters`, 414),
        );
        return;
      default:
        sendProblem(logger, request, reply, error);
    }
  };
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them: headers over Node's 16 KiB limit
 * (431), a client too slow to send its request (408), and bytes that are not HTTP (400). The answer
 * is written straight to the socket, which is then closed, as Node and Fastify do by default.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request_headers_too_large', 'The request line and headers are larger than the server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request was not received in time']
        : [400, 'bad_request', 'The request is not valid HTTP'];
  const body = JSON.stringify({ ...problem(status, code, detail), title: STATUS_CODES[status] ?? 'Error' });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
