import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type IncomingMessage } from 'node:http';
import secureJson from 'secure-json-parse';
import { AppModule, type AppDependencies } from '../../app.module';
import { API_KEYS } from '../../security/api-key.guard';
import { type ApiKeys } from '../../security/api-keys';
import { RATE_LIMITS, rateLimitHook, type RateLimits } from '../../security/rate-limits';
import { DomainError } from '../errors/domain-error';
import { ProblemDetailsFilter } from '../errors/problem-details.filter';
import { withCorrelationId } from '../logging/logger';
import { httpMetricsHook } from '../metrics/http-metrics';
import { METRICS, type Metrics } from '../metrics/metrics';
import { setUpOpenApi } from './openapi';
import {
  charsetRefused,
  clientErrorHandler,
  contentEncodingRefused,
  frameworkErrorHandler,
  JSON_DEPTH_MAX,
  jsonBoundBroken,
  PATH_PARAMETER_LENGTH_MAX,
  URL_LENGTH_MAX,
} from './request-bounds';
import { methodNotAllowedHook } from './method-not-allowed';
import { refuseUndeclaredInput } from './undeclared-input';
import { RequestValidationPipe } from './validation.pipe';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Refuses bytes that are no UTF-8 rather than reading them as U+FFFD; drops a leading BOM. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Node's defaults: how often the server looks for requests past their time limit, and how long the headers may take. */
const CONNECTIONS_CHECKING_INTERVAL_MAX_MS = 30_000;
const HEADERS_TIMEOUT_MAX_MS = 60_000;

/**
 * Builds the HTTP application on Fastify. Every error, including those Fastify raises before a
 * handler runs (malformed JSON, oversized bodies, unknown routes, undecodable URLs), leaves as
 * problem+json. Every request is bounded (URL, path parameters, body size and depth) and counted
 * against its rate limit before its body is read.
 */
export async function createHttpApp(dependencies: AppDependencies): Promise<NestFastifyApplication> {
  const { config, logger } = dependencies;
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // Fastify sets no limit on how long a request may take to arrive, so a client could hold a
    // connection open for ever by sending its body a byte at a time. Node's server answers a
    // request still arriving after requestTimeout with 408 (clientErrorHandler makes it
    // problem+json) and closes the connection. It checks the open connections every
    // connectionsCheckingInterval, so the 408 comes within a quarter of the limit after it. The
    // limits go to the server as it is created too: fastify sets requestTimeout only afterwards,
    // when headersTimeout already has its default of 60 s, and Node does not apply a
    // requestTimeout shorter than headersTimeout to a body (seen on Node 20).
    requestTimeout: config.http.requestTimeoutMs,
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MAX_MS, config.http.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MAX_MS, Math.ceil(config.http.requestTimeoutMs / 4)),
    },
    routerOptions: { maxParamLength: PATH_PARAMETER_LENGTH_MAX },
    // Behind a proxy, the client is whom the trusted proxies name, for the per-IP rate limit and the audit.
    trustProxy: config.rateLimit.trustProxy === false ? false : typeof config.rateLimit.trustProxy === 'number' ? config.rateLimit.trustProxy : [...config.rateLimit.trustProxy],
    // A caller's X-Request-Id becomes the correlation id of the events its command appends.
    genReqId: (request: IncomingMessage) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    frameworkErrors: frameworkErrorHandler(logger),
    clientErrorHandler,
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(dependencies), adapter, {
    logger: ['error', 'warn'],
    abortOnError: false,
    // Body parsing is ours (below), so Nest must not register its own parsers.
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Everything a request logs, down to its handler, carries its id: the correlation id its events
  // carry too. Run as a callback hook, so the rest of the request runs inside the context.
  fastify.addHook('onRequest', (request, _reply, done) => withCorrelationId(String(request.id), done));
  fastify.addHook('onResponse', async (request, reply) => {
    withCorrelationId(String(request.id), () =>
      logger.debug({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, durationMs: Math.round(reply.elapsedTime) }, 'request completed'),
    );
  });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    // Every answer says its type (see sendProblem for those refused before routing); a problem
    // quotes names from the request, so no browser may read an answer as anything else.
    void reply.header('x-content-type-options', 'nosniff');
    if (request.url.length > URL_LENGTH_MAX) throw new DomainError('url_too_long', `The URL is longer than ${URL_LENGTH_MAX} characters`, 414);
  });
  fastify.addHook('onRequest', rateLimitHook(app.get<RateLimits>(RATE_LIMITS), app.get<ApiKeys>(API_KEYS)));
  // A path a route takes, asked with a method none takes: 405 with Allow (see the hook on keys).
  fastify.addHook('onRequest', methodNotAllowedHook(fastify));
  fastify.addHook('onResponse', httpMetricsHook(app.get<Metrics>(METRICS)));
  // Nest replaces Fastify's error handler and turns Fastify's own errors into bare HTTP errors,
  // losing which rule broke. JSON is therefore parsed here, failing with our own stable code, and
  // only JSON is accepted: any other media type is a 415 before a handler runs.
  fastify.removeAllContentTypeParsers();
  // The body is read as bytes and decoded here: Fastify's `parseAs: 'string'` decodes as UTF-8
  // whatever the charset says, and puts U+FFFD in place of bytes that are no UTF-8, so a body in
  // ISO-8859-1 sent chunked (with no Content-Length to give the change away) was appended altered.
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (contentEncodingRefused(request.headers['content-encoding'])) {
      return done(new DomainError('unsupported_content_encoding', 'The request body must not be compressed or otherwise encoded: send it with no Content-Encoding, or identity', 415), undefined);
    }
    if (charsetRefused(request.headers['content-type'])) {
      return done(new DomainError('unsupported_charset', 'The request body must be JSON in UTF-8: send charset=utf-8, or no charset', 415), undefined);
    }
    let text: string;
    try {
      text = UTF8.decode(typeof body === 'string' ? Buffer.from(body) : body);
    } catch {
      return done(new DomainError('invalid_utf8', 'The request body holds bytes that are no UTF-8, which JSON must be written in', 400), undefined);
    }
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      // secure-json-parse refuses __proto__ and constructor.prototype keys (prototype poisoning).
      parsed = secureJson.parse(text);
    } catch {
      return done(new DomainError('malformed_json', 'The request body is not valid JSON', 400), undefined);
    }
    const broken = jsonBoundBroken(parsed, JSON_DEPTH_MAX);
    if (broken === 'json_too_deep') {
      return done(new DomainError('json_too_deep', `The request body nests arrays and objects more than ${JSON_DEPTH_MAX} levels deep`, 400), undefined);
    }
    if (broken === 'nul_character') {
      return done(new DomainError('nul_character', 'The request body holds the NUL character (\\u0000), which no field accepts', 400), undefined);
    }
    if (broken === 'lone_surrogate') {
      return done(new DomainError('lone_surrogate', 'The request body holds half a UTF-16 surrogate pair (such as \\ud83d alone), which is no Unicode text', 400), undefined);
    }
    done(null, parsed);
  });
  // After the body is parsed, so a malformed body is still its own problem; before the handler.
  fastify.addHook('preHandler', refuseUndeclaredInput(app, app.get<ApiKeys>(API_KEYS)));
  app.useGlobalPipes(new RequestValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter(logger));
  setUpOpenApi(app);
  return app;
}
