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

/**
 * Whether `value` nests deeper than `depthMax` arrays and objects. Iterative, so a hostile body of
 * a million brackets is measured without a stack overflow (the transformer and validator after the
 * parser recurse, and would overflow on it: a 500 instead of a 400).
 */
export function jsonDepthExceeds(value: unknown, depthMax: number): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth >= depthMax) return true;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}

/**
 * Whether a string or key anywhere in `value` holds the NUL character (U+0000). JSON may carry it
 * (as \u0000), but PostgreSQL can hold it in neither text nor jsonb, so a field that reached a
 * column or an event with it failed in the database, as a 500. Call it after jsonDepthExceeds.
 */
export function jsonHoldsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next === 'string') {
      if (next.includes('\u0000')) return true;
      continue;
    }
    if (typeof next !== 'object' || next === null) continue;
    for (const [key, child] of Object.entries(next)) {
      if (key.includes('\u0000')) return true;
      pending.push(child);
    }
  }
  return false;
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
