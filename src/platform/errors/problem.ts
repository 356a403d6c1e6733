import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-unavailable';
import { EventStoreUnavailableError } from '../event-store/event-store.port';
import { DomainError } from './domain-error';

/** RFC 9457 problem details, plus the stable `code` integrations switch on. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

export interface FieldError {
  readonly field: string;
  readonly code: string;
  readonly message: string;
}

/** Request input that failed validation at the edge; nothing was decided and nothing appended. */
export class RequestValidationError extends Error {
  constructor(
    readonly errors: readonly FieldError[],
    readonly status = 422,
  ) {
    super(errors.map((error) => error.message).join('; '));
    this.name = 'RequestValidationError';
  }
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Codes for failures raised by the HTTP stack itself rather than by our code. */
const CODES_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  404: 'route_not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** Fastify's own error codes for requests it refused before any handler ran. */
const FASTIFY_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

export function problem(status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return {
    type: `https://pay2slay.dev/problems/${code.replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    ...extensions,
  };
}

/**
 * What a problem echoes of the request (a property name it did not expect, a query parameter's
 * name) with the shapes of secrets left out: every run of 64 or more hexadecimal characters (the
 * operator seed and a private key are 64 of them), every API key (`p2s_` and 43 base64url
 * characters), and every run of 43 or more base64 or base64url characters, with or without its
 * `=` (32 bytes or more: the master key, and a seed or key written in base64). One sent in the
 * wrong place must not come back. The request's path is never echoed at all (see sendProblem).
 */
export function withoutSecretShapes(text: string): string {
  return text
    .replace(/[0-9A-Fa-f]{64,}/g, '(64 or more hexadecimal characters, not shown)')
    .replace(/p2s_[A-Za-z0-9_-]{43}/g, '(an API key, not shown)')
    .replace(/[A-Za-z0-9+/_-]{43,}=*/g, '(43 or more base64 characters, not shown)');
}

/** Maps anything thrown while serving a request to a problem. Unknown errors are 500s. */
export function toProblem(error: unknown): Problem {
  if (error instanceof DomainError) return problem(error.status, error.code, error.message, { ...error.extensions });
  if (error instanceof RequestValidationError) {
    const errors = error.errors.map((field) => ({ ...field, field: withoutSecretShapes(field.field), message: withoutSecretShapes(field.message) }));
    return problem(error.status, error.errors[0]?.code ?? 'invalid_request', withoutSecretShapes(error.message), { errors });
  }
  if (error instanceof EventStoreUnavailableError) {
    return problem(503, 'event_store_unavailable', 'The event store is unavailable; nothing was recorded. Retry shortly');
  }
  // A refusal Fastify made of the request itself is the client's, whatever its code: before the
  // database's test, since a client that hangs up mid-body ends it with Node's "aborted", of code
  // ECONNRESET (a dropped PostgreSQL socket's code too), which Fastify marks 400.
  const fastifyRefusal = fastifyRefusalOf(error);
  if (fastifyRefusal !== undefined) return fastifyRefusal;
  if (isDatabaseUnavailable(error)) {
    return problem(503, 'database_unavailable', 'The database could not be reached or did not answer in time. Retry shortly');
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // Nest's own 404 quotes the request ("Cannot PUT /v1/…?…" for a route it does not know): it
    // is told without the path, as `instance` is, since a secret may have been put in it.
    const message = /^Cannot [A-Z]+ /.test(error.message) ? 'No route matches the path' : withoutSecretShapes(error.message);
    return problem(status, CODES_BY_STATUS[status] ?? (status >= 500 ? 'internal_error' : 'bad_request'), message);
  }
  return problem(500, 'internal_error', 'The server failed to handle the request; it has been logged');
}

/** The problem of an error Fastify raised refusing the request (a status below 500); else undefined. */
function fastifyRefusalOf(error: unknown): Problem | undefined {
  if (error instanceof HttpException) return undefined;
  const fastify = error as { code?: unknown; statusCode?: unknown; message?: unknown } | null;
  if (fastify === null || typeof fastify !== 'object' || typeof fastify.statusCode !== 'number' || fastify.statusCode >= 500) return undefined;
  const code = typeof fastify.code === 'string' ? FASTIFY_CODES[fastify.code] : undefined;
  // Fastify's messages may repeat a header as it came (the Content-Type of an unsupported body).
  const message = typeof fastify.message === 'string' ? withoutSecretShapes(fastify.message) : 'The request was refused';
  if (error instanceof SyntaxError || code === 'malformed_json') {
    return problem(400, 'malformed_json', 'The request body is not valid JSON');
  }
  return problem(fastify.statusCode, code ?? CODES_BY_STATUS[fastify.statusCode] ?? 'bad_request', message);
}
