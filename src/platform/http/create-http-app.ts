import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type IncomingMessage } from 'node:http';
import secureJson from 'secure-json-parse';
import { AppModule, type AppDependencies } from '../../app.module';
import { DomainError } from '../errors/domain-error';
import { ProblemDetailsFilter } from '../errors/problem-details.filter';
import { RequestValidationPipe } from './validation.pipe';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the HTTP application on Fastify. Every error, including those Fastify raises before a
 * handler runs (malformed JSON, oversized bodies, unknown routes), leaves as problem+json.
 */
export async function createHttpApp(dependencies: AppDependencies): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: dependencies.config.http.bodyLimitBytes,
    // A caller's X-Request-Id becomes the correlation id of the events its command appends.
    genReqId: (request: IncomingMessage) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(dependencies), adapter, {
    logger: ['error', 'warn'],
    abortOnError: false,
    // Body parsing is ours (below), so Nest must not register its own parsers.
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // Nest replaces Fastify's error handler and turns Fastify's own errors into bare HTTP errors,
  // losing which rule broke. JSON is therefore parsed here, failing with our own stable code, and
  // only JSON is accepted: any other media type is a 415 before a handler runs.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      // secure-json-parse refuses __proto__ and constructor.prototype keys (prototype poisoning).
      done(null, secureJson.parse(text));
    } catch {
      done(new DomainError('malformed_json', 'The request body is not valid JSON', 400), undefined);
    }
  });
  app.useGlobalPipes(new RequestValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter(dependencies.logger));
  return app;
}
