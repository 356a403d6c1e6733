import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyDecorators, type INestApplication, type Type } from '@nestjs/common';
import { METHOD_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  ApiExtraModels,
  ApiProperty,
  type ApiPropertyOptions,
  ApiResponse,
  ApiSchema,
  DocumentBuilder,
  getSchemaPath,
  type OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { getMetadataStorage } from 'class-validator';
import { type ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { type Access, accessOf } from '../../security/access';
import { problem } from '../errors/problem';
import { instantMessage } from './instant';
import { takesNoBody } from './no-body.pipe';

/**
 * The OpenAPI document of the HTTP API (SPEC §5), served at `/docs` (Swagger UI, its assets from
 * the swagger-ui-dist package on this server, never a CDN) and `/docs-json`.
 *
 * It is generated from the application itself, so it cannot list a route the service does not
 * have nor miss one it has:
 * - routes, paths, parameters and bodies come from the controllers and their DTOs;
 * - each DTO property's type, presence and bounds (maxLength, pattern, minimum, maxItems, …) are
 *   read from its class-validator rules, the ones that validate requests, so a rule is written
 *   once; `@ApiProperty` on a DTO adds only words: a description and an example;
 * - who may call a route (the bearer key and its scope, or nobody's key) is read from the same
 *   `@Public()` / `@RequiresScope()` metadata the API key guard enforces;
 * - error responses are problem+json with their stable codes: the ones every route of a kind can
 *   give (rate limit, key, body and validation codes, each DTO rule's `context.code`) are derived,
 *   and each handler names its own with `@ApiProblems(status, codes)`.
 * Summaries, tags and success shapes are written on the controllers with @nestjs/swagger's
 * decorators. Jest runs SWC, where the Nest CLI's swagger plugin cannot run, so nothing here relies
 * on it.
 */

export const OPENAPI_UI_PATH = 'docs';
export const OPENAPI_JSON_PATH = 'docs-json';

// @nestjs/swagger does not export its OpenAPI types from its index; they are read off the document's.
type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;
type ParameterObject = Extract<NonNullable<OperationObject['parameters']>[number], { name: string }>;
type ResponseObject = Extract<OperationObject['responses'][string], { description: string }>;
type SchemaObject = Extract<NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string], { type?: unknown; properties?: unknown }>;
type ReferenceObject = { $ref: string };

/** An OpenAPI schema object, for the few answers described by hand. */
export type OpenApiSchema = SchemaObject;

/** The name of the bearer API key security scheme. */
export const API_KEY_SECURITY = 'apiKey';

/** Where a route's `@ApiProblems` codes are kept, by status. */
const PROBLEMS_METADATA = 'ledger:openapi:problems';

const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/**
 * Example values the document shares, so one example player reads the same on every route. All
 * made up: no real key, seed or person. The address is Banano's burn address (a valid checksum
 * whose key nobody holds).
 */
export const EXAMPLE = {
  userId: '6f1c2a3e-8b4d-5e9f-a0b1-c2d3e4f5a6b7',
  discordUserId: '123456789012345678',
  epicAccountId: '0123456789abcdef0123456789abcdef',
  address: 'ban_1111111111111111111111111111111111111111111111111111hifc8npp',
  accrualId: '0d9e8f7a-6b5c-5d4e-9f3a-2b1c0d9e8f7a',
  payoutId: '3c2b1a09-8f7e-4d6c-b5a4-392817a6b5c4',
  flagId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  runId: '5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716',
  eventId: '7b6a5948-3726-4150-8f9e-8d7c6b5a4938',
  blockHash: '0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0',
  time: '2026-01-15T18:30:00.000Z',
} as const;

/** One field a request broke, as listed in a 422 problem's `errors`. */
@ApiSchema({ name: 'FieldError' })
export class FieldErrorSchema {
  @ApiProperty({ description: 'The field, dotted for nested ones (`observations.3.lifetimeKills`); empty for the body as a whole.', example: 'lifetimeKills' })
  readonly field!: string;

  @ApiProperty({ description: 'The stable code of the rule the field broke.', example: 'invalid_lifetime_kills' })
  readonly code!: string;

  @ApiProperty({ description: 'The rule, in words.', example: 'lifetimeKills must not be negative' })
  readonly message!: string;
}

/** RFC 9457 problem details, as every error leaves the service (`application/problem+json`). */
@ApiSchema({ name: 'Problem', description: 'RFC 9457 problem details. Integrations switch on `code`, which is stable and named after the broken rule.' })
export class ProblemSchema {
  @ApiProperty({ description: 'A URI naming the kind of problem, made from the code.', example: 'https://pay2slay.dev/problems/invalid-lifetime-kills' })
  readonly type!: string;

  @ApiProperty({ description: 'The HTTP status, in words.', example: 'Unprocessable Content' })
  readonly title!: string;

  @ApiProperty({ description: 'The HTTP status.', type: 'integer', example: 422 })
  readonly status!: number;

  @ApiProperty({ description: 'The stable code of the rule that was broken (snake_case).', example: 'invalid_lifetime_kills' })
  readonly code!: string;

  @ApiProperty({ description: 'What went wrong, for a human.', example: 'lifetimeKills must not be negative' })
  readonly detail!: string;

  @ApiProperty({
    required: false,
    description: 'The route the request matched, as this document writes its path; absent when none did (404, 405). The request\'s own path is never echoed.',
    example: '/v1/users/{userId}/kills',
  })
  readonly instance?: string;

  @ApiProperty({
    required: false,
    type: () => [FieldErrorSchema],
    description: '422 validation problems: every field that broke a rule, with its code; `code` above is the first one\'s.',
  })
  readonly errors?: FieldErrorSchema[];

  @ApiProperty({ required: false, description: '403 `insufficient_scope`: the scope the route needs.', example: 'admin' })
  readonly requiredScope?: string;

  @ApiProperty({ required: false, enum: ['key', 'ip'], description: '429 `rate_limited`: which limit is spent, the API key\'s or the client address\'s.', example: 'key' })
  readonly limit?: string;

  @ApiProperty({ required: false, type: 'integer', description: '429 `rate_limited`: the seconds to wait, as in `Retry-After`.', example: 12 })
  readonly retryAfterSeconds?: number;
}

/**
 * The problems a route answers with `status`, by stable code, besides those every route of its
 * kind gives (which are derived: see the file comment). Stack one per status.
 */
export function ApiProblems(status: number, codes: readonly string[]): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    const known = (Reflect.getMetadata(PROBLEMS_METADATA, handler) ?? {}) as Record<number, readonly string[]>;
    Reflect.defineMetadata(PROBLEMS_METADATA, { ...known, [status]: [...(known[status] ?? []), ...codes] }, handler);
    return descriptor;
  };
}

/** The success answer: `type`'s schema, with the example built from its properties' examples. */
export function ApiSuccess(status: number, description: string, type: Type<unknown>): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, type });
}

/** The success answer when it has one of several shapes; the example is the first one's. */
export function ApiSuccessOneOf(status: number, description: string, types: readonly Type<unknown>[]): MethodDecorator & ClassDecorator {
  return applyDecorators(ApiExtraModels(...types), ApiResponse({ status, description, schema: { oneOf: types.map((type) => ({ $ref: getSchemaPath(type) })) } }));
}

/**
 * The success answer of a report whose shape is easiest read off a whole example (admin stats,
 * liveness): the schema is inferred from `example`, every key required, so the two cannot
 * disagree. `notes` amend properties by dotted path (`config.lastChange`): a string describes
 * one, an object is merged into its schema (e.g. `{nullable: true}`).
 */
export function ApiSuccessExample(
  status: number,
  description: string,
  example: Record<string, unknown>,
  notes: Record<string, string | Partial<SchemaObject>> = {},
): MethodDecorator & ClassDecorator {
  const schema = schemaOfExample(example);
  for (const [path, note] of Object.entries(notes)) {
    const target = path.split('.').reduce<SchemaObject | undefined>((at, name) => at?.properties?.[name] as SchemaObject | undefined, schema);
    if (target === undefined) throw new Error(`OpenAPI: the example has no ${path} to note`);
    Object.assign(target, typeof note === 'string' ? { description: note } : note);
  }
  return ApiResponse({ status, description, content: { 'application/json': { schema, example } } });
}

/** A schema that `example` satisfies: types, properties (all required) and array items from it. */
function schemaOfExample(example: unknown): SchemaObject {
  if (example === null) return { nullable: true };
  if (Array.isArray(example)) return { type: 'array', items: example.length === 0 ? {} : schemaOfExample(example[0]) };
  switch (typeof example) {
    case 'string':
      return { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return { type: Number.isInteger(example) ? 'integer' : 'number' };
    case 'object': {
      const entries = Object.entries(example as Record<string, unknown>);
      return { type: 'object', required: entries.map(([name]) => name), properties: Object.fromEntries(entries.map(([name, value]) => [name, schemaOfExample(value)])) };
    }
    default:
      throw new Error(`OpenAPI: an example holds a ${typeof example}, which JSON cannot`);
  }
}

/** A page (SPEC §5): `{items: [...], nextCursor}`, the items of `item`'s shape. */
export function ApiPageResponse(item: Type<unknown>, description: string): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(item),
    ApiResponse({
      status: 200,
      description,
      schema: {
        type: 'object',
        required: ['items', 'nextCursor'],
        properties: {
          items: { type: 'array', items: { $ref: getSchemaPath(item) } },
          nextCursor: {
            type: 'string',
            nullable: true,
            description: 'Pass as `cursor` for the next page; null on the last page. Opaque: never build one.',
            example: 'eyJwIjoiMTIzNCJ9',
          },
        },
      },
    }),
  );
}

// Only the path helper: the package's index would load Swagger UI's browser bundle into the server.
const swaggerUiAssetsPath = require('swagger-ui-dist/absolute-path.js') as () => string;

/**
 * Swagger UI's files this server serves, from the swagger-ui-dist package (nothing from a CDN),
 * with their media types. Only these: not the package's own index.html and initializer, which
 * point at a demo document on the internet.
 */
const UI_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** The page. Its start-up script is a file of its own rather than inline, so a strict CSP could allow it. */
const UI_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Pay2Slay Ledger API</title>
  <link rel="stylesheet" href="/${OPENAPI_UI_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="/${OPENAPI_UI_PATH}/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/${OPENAPI_UI_PATH}/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/${OPENAPI_UI_PATH}/swagger-ui-bundle.js"></script>
  <script src="/${OPENAPI_UI_PATH}/swagger-ui-init.js"></script>
</body>
</html>
`;

/**
 * The page takes an API key ("Authorize") and sends commands with it: no other site may frame it,
 * where a visitor could be led to click through it unseen. Only framing is restricted: Swagger UI
 * is not checked against a stricter policy here.
 */
const UI_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};

const UI_INIT_JS = `window.ui = SwaggerUIBundle(${JSON.stringify({
  url: `/${OPENAPI_JSON_PATH}`,
  dom_id: '#swagger-ui',
  deepLinking: true,
  // The base layout has no top bar, so the page never loads a document from elsewhere.
  layout: 'BaseLayout',
  // Swagger UI would otherwise send the document's address to validator.swagger.io for a badge.
  validatorUrl: null,
  // An API key typed into "Authorize" stays in the page's memory, never in localStorage.
  persistAuthorization: false,
  tagsSorter: 'alpha',
  displayRequestDuration: true,
})});
`;

/**
 * Builds the document once and serves it: `GET /docs` (Swagger UI) and `GET /docs-json`. They are
 * Fastify routes, not Nest controllers: the API key guard never sees them (they are public, like
 * health and donations), and the rate limit's onRequest hook counts them like any other request.
 * The UI's assets are served from the swagger-ui-dist package installed with the service.
 */
export function setUpOpenApi(app: NestFastifyApplication): OpenAPIObject {
  const document = buildOpenApiDocument(app);
  const json = JSON.stringify(document);
  const assets = swaggerUiAssetsPath();
  for (const file of Object.keys(UI_ASSETS)) {
    if (!existsSync(join(assets, file))) throw new Error(`Swagger UI's ${file} is missing from ${assets}: reinstall swagger-ui-dist`);
  }
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get(`/${OPENAPI_JSON_PATH}`, (_request, reply) => reply.type('application/json; charset=utf-8').send(json));
  for (const path of [`/${OPENAPI_UI_PATH}`, `/${OPENAPI_UI_PATH}/`]) {
    fastify.get(path, (_request, reply) => reply.type('text/html; charset=utf-8').headers(UI_PAGE_HEADERS).send(UI_HTML));
  }
  fastify.get(`/${OPENAPI_UI_PATH}/swagger-ui-init.js`, (_request, reply) => reply.type('application/javascript; charset=utf-8').send(UI_INIT_JS));
  for (const [file, type] of Object.entries(UI_ASSETS)) {
    fastify.get(`/${OPENAPI_UI_PATH}/${file}`, (_request, reply) =>
      reply.type(type).header('cache-control', 'public, max-age=86400').send(createReadStream(join(assets, file))),
    );
  }
  return document;
}

/** The OpenAPI 3 document of `app`'s routes, complete with security, problems and examples. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const routes = controllerRoutes(app);
  const dtos = new Set(routes.flatMap((route) => [...route.params, ...route.query, ...route.body]));
  for (const dto of dtos) describeValidationRules(dto);
  const config = new DocumentBuilder()
    .setTitle('Pay2Slay Ledger')
    .setDescription(API_DESCRIPTION)
    .setVersion('1')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key made with `npm run cli -- api-keys create --name <name> --scopes <scopes>`, sent as `Authorization: Bearer <key>`. ' +
          'Each operation names the scope it needs in `x-required-scope`: `commands:write`, `queries:read` or `admin`.',
      },
      API_KEY_SECURITY,
    )
    .addTag('users', 'Players: registration, Epic account, wallet and verification, and what the ledger knows of them')
    .addTag('kills', 'Kill observations and the accruals they earn')
    .addTag('payouts', 'Payouts to players\' wallets')
    .addTag('donations', 'Donations to the operator wallet and the milestones they unlock (public)')
    .addTag('dashboard', 'The public dashboard: the leaderboard and the feed of accruals and payouts (public)')
    .addTag('admin', 'Settlement, payout and abuse-flag decisions, faucet settings, the operator seed, audit and reconciliation (scope admin)')
    .addTag('operations', 'Liveness, readiness and metrics (public)')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemSchema, FieldErrorSchema], autoTagControllers: false });
  completeOperations(document, routes);
  return document;
}

const API_DESCRIPTION = [
  'The event-sourced ledger of the Pay2Slay faucet: it pays Banano (BAN) to Fortnite players for their kills (SPEC §5).',
  '',
  '- **Keys.** Every route but the public ones needs `Authorization: Bearer <key>` with the scope the operation names (`x-required-scope`). No key: 401 `api_key_required`; a wrong, expired or revoked one: 401 `api_key_invalid`; a key without the scope: 403 `insufficient_scope`.',
  '- **Money.** Amounts are decimal strings in pairs: `…Raw` (integer raw, 1 BAN = 10^29 raw) and `…Ban` (8 decimals). Kill counts are JSON integers; times are ISO-8601 UTC.',
  '- **Eventual consistency.** A command answers with the `position` of its event; a query given `?minPosition=<position>` waits (at most 5 s) until its read model has applied it, else 503 `read_model_behind`.',
  '- **Errors** are `application/problem+json` with a stable `code`; each operation lists its codes by status. Besides those: 400 `invalid_url` (a percent-encoding that does not decode), 414 `url_too_long` (over 4,096 characters), 431 `request_headers_too_large`, 408 `request_timeout` (a request still arriving after `HTTP_REQUEST_TIMEOUT_SECONDS`), 404 `route_not_found` (no route matches the path), 405 `method_not_allowed` (a route matches the path, not the method; `Allow` lists the methods it takes, and OPTIONS on such a path is 204 with `Allow`), 503 `database_unavailable` (PostgreSQL cannot be reached, dropped the connection, or a statement ran past its timeout). A 503 carries `Retry-After: 1`, a 429 `Retry-After` in seconds.',
  '- **Correlation.** A command\'s `X-Request-Id` (1–128 of `A-Za-z0-9._:-`) becomes the correlation id of the events it appends, and is echoed back; otherwise one is generated.',
].join('\n');

/** One route of a controller, as Nest will serve it. */
interface ControllerRoute {
  readonly controller: Type<unknown>;
  readonly handler: string;
  readonly access: Access;
  readonly params: readonly Type<unknown>[];
  readonly query: readonly Type<unknown>[];
  readonly body: readonly Type<unknown>[];
}

/** Every controller route of the application, with the DTO classes its handler validates. */
function controllerRoutes(app: INestApplication): ControllerRoute[] {
  const routes: ControllerRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (controller === null) continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const handler of Object.getOwnPropertyNames(prototype)) {
        const method = prototype[handler];
        if (handler === 'constructor' || typeof method !== 'function' || Reflect.getMetadata(METHOD_METADATA, method) === undefined) continue;
        const access = accessOf(method, controller);
        const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<string, { index: number }>;
        const types = (Reflect.getMetadata('design:paramtypes', prototype, handler) ?? []) as Array<Type<unknown> | undefined>;
        const dtos = (kind: RouteParamtypes): Type<unknown>[] =>
          Object.entries(args)
            .filter(([key]) => key.split(':')[0] === String(kind))
            .flatMap(([, arg]) => {
              const type = types[arg.index];
              return type === undefined || [String, Number, Boolean, Object, Array].includes(type as never) ? [] : [type];
            });
        routes.push({ controller, handler, access, params: dtos(RouteParamtypes.PARAM), query: dtos(RouteParamtypes.QUERY), body: dtos(RouteParamtypes.BODY) });
      }
    }
  }
  return routes;
}

// --- DTO schemas from class-validator rules -----------------------------------------------------

/**
 * A custom class-validator constraint says how it looks in OpenAPI with a static `openApi`
 * schema, next to the rule it checks (e.g. a Banano address's shape, which the checksum narrows).
 */
export interface OpenApiDescribedConstraint {
  readonly openApi: Readonly<Pick<SchemaObject, 'type' | 'pattern' | 'minLength' | 'maxLength' | 'format'>>;
}

const storage = getMetadataStorage();

// class-transformer keeps @Type() targets in a storage it does not export from its index.
const { defaultMetadataStorage: transformerMetadata } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: { findTypeMetadata(target: Function, property: string): { typeFunction(): unknown } | undefined };
};

/** A rule's name: `maxLength`, `isUuid`, … or the name a custom @ValidatorConstraint gave itself. */
function ruleName(rule: ValidationMetadata): string {
  if (rule.name !== undefined && rule.name !== '') return rule.name;
  const [constraint] = rule.constraintCls === undefined ? [] : storage.getTargetValidatorConstraints(rule.constraintCls);
  return constraint?.name ?? rule.type;
}

/** What one property's rules say, in OpenAPI words; `unknown` lists the rules it cannot say. */
interface PropertySchema {
  readonly options: ApiPropertyOptions & Record<string, unknown>;
  readonly nested: Function | null;
  readonly unknown: readonly string[];
}

/** Rules that say nothing about the value's shape, or that the nested DTO says for them. */
const SILENT_RULES = new Set(['isObject', 'nestedValidation', 'isDefined', 'conditionalValidation', 'isOptional']);

function propertySchema(dto: Function, property: string, rules: readonly ValidationMetadata[]): PropertySchema {
  const options: Record<string, unknown> = { required: !rules.some((rule) => rule.type === 'conditionalValidation') };
  const unknown: string[] = [];
  let nested: Function | null = null;
  if (rules.some((rule) => rule.type === 'nestedValidation')) {
    const target = transformerMetadata.findTypeMetadata(dto, property)?.typeFunction();
    if (typeof target === 'function') nested = target;
  }
  for (const rule of rules) {
    const [first, second] = (rule.constraints ?? []) as unknown[];
    const name = ruleName(rule);
    switch (name) {
      case 'isString':
        options.type = 'string';
        break;
      case 'maxLength':
        options.maxLength = first;
        break;
      case 'minLength':
        options.minLength = first;
        break;
      case 'isLength':
        options.minLength = first;
        if (second !== undefined) options.maxLength = second;
        break;
      case 'matches':
        options.type = 'string';
        options.pattern = first instanceof RegExp ? first.source : String(first);
        break;
      case 'isInt':
        options.type = 'integer';
        break;
      case 'min':
        options.minimum = first;
        break;
      case 'max':
        options.maximum = first;
        break;
      case 'isBoolean':
        options.type = 'boolean';
        break;
      case 'isUuid':
        options.type = 'string';
        options.format = 'uuid';
        break;
      case 'isIso8601':
        options.type = 'string';
        options.format = 'date-time';
        break;
      case 'isArray':
        if (nested === null) options.type = 'array';
        break;
      case 'arrayMinSize':
        options.minItems = first;
        break;
      case 'arrayMaxSize':
        options.maxItems = first;
        break;
      default: {
        const described = (rule.constraintCls as Partial<OpenApiDescribedConstraint> | undefined)?.openApi;
        if (described !== undefined) Object.assign(options, described);
        else if (!SILENT_RULES.has(name) && !SILENT_RULES.has(rule.type)) unknown.push(name);
      }
    }
  }
  if (nested !== null) {
    options.type = nested;
    options.isArray = rules.some((rule) => ruleName(rule) === 'isArray');
  }
  return { options: options as PropertySchema['options'], nested, unknown };
}

/**
 * Writes what `dto`'s class-validator rules say into its @nestjs/swagger property metadata, for
 * it and the DTOs nested in it. The rules override whatever bound a decorator may have repeated;
 * descriptions and examples stay. Running it again changes nothing.
 */
function describeValidationRules(dto: Function, seen = new Set<Function>()): void {
  if (seen.has(dto)) return;
  seen.add(dto);
  for (const [property, rules] of Object.entries(storage.groupByPropertyName(storage.getTargetValidationMetadatas(dto, '', true, false)))) {
    const { options, nested } = propertySchema(dto, property, rules);
    ApiProperty(options)(dto.prototype as object, property);
    if (nested !== null) describeValidationRules(nested, seen);
  }
}

/**
 * The rules of `dto` (and the DTOs nested in it) that the document cannot express, as
 * `Dto.property: rule`; a test keeps this empty, so a new kind of rule is taught to it.
 */
export function undocumentedRules(dto: Function, seen = new Set<Function>()): string[] {
  if (seen.has(dto)) return [];
  seen.add(dto);
  return Object.entries(storage.groupByPropertyName(storage.getTargetValidationMetadatas(dto, '', true, false))).flatMap(([property, rules]) => {
    const { nested, unknown } = propertySchema(dto, property, rules);
    return [...unknown.map((name) => `${dto.name}.${property}: ${name}`), ...(nested === null ? [] : undocumentedRules(nested, seen))];
  });
}

/** The stable codes `dto`'s rules (and its nested DTOs') answer with, each with the field it names. */
function validationCodes(dto: Function, prefix = '', seen = new Set<Function>()): Array<{ readonly code: string; readonly field: string }> {
  if (seen.has(dto)) return [];
  seen.add(dto);
  return Object.entries(storage.groupByPropertyName(storage.getTargetValidationMetadatas(dto, '', true, false))).flatMap(([property, rules]) => {
    const field = `${prefix}${property}`;
    const codes = rules.flatMap((rule) => {
      const code = (rule.context as { code?: unknown } | undefined)?.code;
      return typeof code === 'string' ? [{ code, field }] : [];
    });
    const { nested, options } = propertySchema(dto, property, rules);
    return [...codes, ...(nested === null ? [] : validationCodes(nested, options.isArray === true ? `${field}.0.` : `${field}.`, seen))];
  });
}

// --- Operations: security, problems, examples ----------------------------------------------------

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

function completeOperations(document: OpenAPIObject, routes: readonly ControllerRoute[]): void {
  const byOperationId = new Map(routes.map((route) => [`${route.controller.name}_${route.handler}`, route]));
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      const route = byOperationId.get(operation.operationId ?? '');
      if (route === undefined) throw new Error(`OpenAPI: operation ${operation.operationId ?? '?'} matches no controller route`);
      describeAccess(operation, route.access);
      if (method !== 'get') operation.parameters = [...(operation.parameters ?? []), REQUEST_ID_PARAMETER];
      const noBody = takesNoBody(method, route.body.length > 0);
      if (noBody) operation.description = [operation.description, NO_BODY_DESCRIPTION].filter(Boolean).join('\n\n');
      const { problems, validation } = problemsOf(route, noBody);
      for (const [status, codes] of problems) operation.responses[String(status)] = problemResponse(status, codes, { path, route, validation });
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^2/.test(status) || response === undefined || isReference(response)) continue;
        for (const media of Object.values(response.content ?? {})) {
          if (media.example === undefined && media.schema !== undefined) media.example = exampleOf(media.schema, document);
        }
      }
    }
  }
}

/** README "HTTP API": a route that takes no body refuses one that is not `{}` (undeclared-input.ts). */
const NO_BODY_DESCRIPTION = 'Takes no body: send none, or `{}`. A property is 422 `unknown_property` (one set to null counts as not given, as in every body), a JSON value that is not an object 422 `invalid_request_body`; nothing is appended.';

const REQUEST_ID_PARAMETER: ParameterObject = {
  name: 'X-Request-Id',
  in: 'header',
  required: false,
  description: 'Becomes the correlation id of the events this command appends, and is echoed back; otherwise one is generated.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$', maxLength: 128, example: 'discord-bot-4711' },
};

function describeAccess(operation: OperationObject, access: Access): void {
  if (access.kind === 'public') {
    operation.security = [];
    operation.description = [operation.description, 'Public: no API key.'].filter(Boolean).join('\n\n');
    return;
  }
  // OpenAPI 3.0 lists scopes only for OAuth; a bearer key's scope is named in an extension and in words.
  operation.security = [{ [API_KEY_SECURITY]: [] }];
  (operation as OperationObject & Record<string, unknown>)['x-required-scope'] = access.scope;
  operation.description = [operation.description, `Needs an API key with the \`${access.scope}\` scope.`].filter(Boolean).join('\n\n');
}

/**
 * Every problem a route can answer, by status: derived from its kind, plus its `@ApiProblems`;
 * and which codes are request validation's (their problems list the fields in `errors`).
 */
function problemsOf(route: ControllerRoute, noBody: boolean): { problems: Map<number, string[]>; validation: ReadonlyMap<string, string> } {
  const problems = new Map<number, Set<string>>();
  const add = (status: number, codes: Iterable<string>): void => {
    const known = problems.get(status) ?? new Set<string>();
    for (const code of codes) known.add(code);
    problems.set(status, known);
  };
  const validation = new Map<string, string>([
    ['invalid_request_body', ''],
    ['unknown_property', 'colour'],
  ]);
  for (const { code, field } of [...route.params, ...route.query, ...route.body].flatMap((dto) => validationCodes(dto))) if (!validation.has(code)) validation.set(code, field);
  // A route that takes no body still reads one sent, to refuse it unless it is `{}`.
  if (route.body.length > 0 || noBody) {
    add(400, ['malformed_json', 'invalid_utf8', 'json_too_deep', 'nul_character', 'lone_surrogate']);
    add(413, ['payload_too_large']);
    add(415, ['unsupported_media_type', 'unsupported_charset', 'unsupported_content_encoding']);
    add(422, ['invalid_request_body', 'unknown_property']);
  }
  for (const dto of [...route.params, ...route.query, ...route.body]) add(422, validationCodes(dto).map(({ code }) => code));
  if (route.params.length > 0) add(414, ['path_parameter_too_long']);
  if (route.query.length > 0) add(422, ['unknown_property']);
  if (route.query.some((dto) => validationCodes(dto).some(({ code }) => code === 'invalid_min_position'))) add(503, ['read_model_behind']);
  if (route.access.kind === 'scope') {
    add(401, ['api_key_required', 'api_key_invalid']);
    add(403, ['insufficient_scope']);
  }
  add(429, ['rate_limited']);
  const handler = (route.controller.prototype as Record<string, object>)[route.handler];
  for (const [status, codes] of Object.entries((Reflect.getMetadata(PROBLEMS_METADATA, handler) ?? {}) as Record<string, string[]>)) add(Number(status), codes);
  return { problems: new Map([...problems.entries()].sort(([a], [b]) => a - b).map(([status, codes]) => [status, [...codes].sort()])), validation };
}

function problemResponse(
  status: number,
  codes: readonly string[],
  context: { readonly path: string; readonly route: ControllerRoute; readonly validation: ReadonlyMap<string, string> },
): ResponseObject & Record<string, unknown> {
  const examples = Object.fromEntries(
    codes.map((code) => {
      const scope = context.route.access.kind === 'scope' ? context.route.access.scope : null;
      const detail = code === 'insufficient_scope' && scope !== null ? `This route needs a key with the ${scope} scope` : (PROBLEM_DETAILS[code] ?? `The request broke the rule ${code}`);
      const field = context.validation.get(code);
      const extensions: Record<string, unknown> =
        field !== undefined
        ? { errors: [{ field, code, message: detail }] }
        : code === 'insufficient_scope' && scope !== null
          ? { requiredScope: scope }
          : code === 'rate_limited'
            ? { limit: 'key', retryAfterSeconds: 12 }
            : {};
      return [code, { summary: code, value: { ...problem(status, code, detail, extensions), instance: context.path } }];
    }),
  );
  const retryAfter = status === 429 || status === 503 ? { headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } } } : {};
  return {
    description: `${TITLES[status] ?? 'Error'}: ${codes.map((code) => `\`${code}\``).join(', ')}`,
    ...retryAfter,
    content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: getSchemaPath(ProblemSchema) }, examples } },
    'x-problem-codes': codes,
  };
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Malformed request',
  401: 'No valid API key',
  403: 'The key lacks the scope',
  404: 'Not found',
  409: 'Conflict',
  413: 'Body too large',
  414: 'URL or path parameter too long',
  415: 'Not JSON, not in UTF-8, or encoded',
  422: 'Invalid input or a broken rule; nothing was appended',
  429: 'Rate limit spent',
  503: 'A dependency cannot answer now; nothing was recorded',
};

/**
 * What each code means, as the problem's `detail` in the examples. A code missing here still
 * documents, with a generic detail; the OpenAPI test asks for every code a route lists.
 */
export const PROBLEM_DETAILS: Readonly<Record<string, string>> = {
  malformed_json: 'The request body is not valid JSON',
  invalid_utf8: 'The request body holds bytes that are no UTF-8, which JSON must be written in',
  unsupported_charset: 'The request body must be JSON in UTF-8: send charset=utf-8, or no charset',
  unsupported_content_encoding: 'The request body must not be compressed or otherwise encoded: send it with no Content-Encoding, or identity',
  json_too_deep: 'The request body nests arrays and objects more than 16 levels deep',
  nul_character: 'The request body holds the NUL character (\\u0000), which no field accepts',
  lone_surrogate: 'The request body holds half a UTF-16 surrogate pair (such as \\ud83d alone), which is no Unicode text',
  payload_too_large: 'The request body is larger than HTTP_BODY_LIMIT_BYTES',
  unsupported_media_type: 'The request body must be application/json',
  invalid_request_body: 'The request body must be a JSON object',
  unknown_property: 'property colour should not exist',
  path_parameter_too_long: 'A path parameter is longer than 100 characters',
  api_key_required: 'This route needs an API key: send Authorization: Bearer <key>',
  api_key_invalid: 'The API key is not valid: unknown, expired or revoked',
  insufficient_scope: 'This route needs a key with the admin scope',
  rate_limited: 'Too many requests for this API key; retry after 12 s',
  read_model_behind: 'The read model has not reached position 1234 yet; retry shortly',
  invalid_min_position: 'minPosition must be a position returned by a command, at most the last event stored',
  invalid_limit: 'limit must be at most 100',
  invalid_leaderboard_by: 'by must be one of kills, earned',
  invalid_cursor: 'cursor is not one this API returned',
  invalid_user_id: 'userId must be a UUID',
  invalid_payout_id: 'payoutId must be a UUID',
  invalid_flag_id: 'flagId must be a UUID',
  user_id_required: 'userId is required',
  event_store_unavailable: 'The event store is unavailable; nothing was recorded. Retry shortly',
  concurrency_conflict: 'The stream kept changing; try again',
  user_not_found: 'No user with this id',
  payout_not_found: 'No payout with this id',
  abuse_flag_not_found: 'No abuse flag with this id',
  discord_user_id_required: 'discordUserId is required',
  invalid_discord_user_id: 'discordUserId must be a Discord snowflake: 17 to 20 digits, without a leading zero',
  invalid_region_code: 'regionCode must be 2 to 16 letters, digits or dashes',
  epic_account_id_required: 'epicAccountId is required',
  invalid_epic_account_id: 'epicAccountId must be 32 hexadecimal characters',
  invalid_lifetime_kills: 'lifetimeKills must not be negative',
  lifetime_kills_required: 'lifetimeKills is required (no Fortnite stats API is configured to read the baseline)',
  epic_account_already_linked: 'This Epic account is linked to another user',
  epic_account_not_found: 'The Fortnite stats API knows no such Epic account',
  stats_private: 'The Epic account keeps its stats private, so its kills cannot be read',
  stats_unavailable: 'The Fortnite stats API is unavailable, so the baseline cannot be read; retry later',
  stats_rate_limited: 'The Fortnite stats API is rate-limiting the ledger; retry later',
  yunite_not_configured: 'Yunite is not configured (YUNITE_API_KEY, YUNITE_GUILD_ID): link Epic accounts directly',
  yunite_unavailable: 'Yunite cannot be reached; nothing was recorded',
  yunite_rate_limited: 'Yunite is rate-limiting the ledger; nothing was recorded',
  yunite_unauthorized: 'Yunite refused the ledger\'s API key; nothing was recorded',
  address_required: 'address is required',
  invalid_banano_address: 'address must be a Banano address: ban_ and 60 characters of the Banano alphabet with a valid checksum',
  message_required: 'message is required',
  signature_required: 'signature is required',
  invalid_wallet_message: 'The signed message must contain the user id, so it cannot be replayed for another user',
  invalid_wallet_signature: 'The signature is not the wallet key\'s signature of this message',
  wallet_not_linked: 'Only the linked primary wallet can be verified; link it first',
  invalid_observed_at: instantMessage('observedAt'),
  observed_at_in_future: 'observedAt is more than 60 s ahead of the ledger clock',
  observed_at_before_previous: 'observedAt is earlier than the previous observation',
  epic_account_not_linked: 'Link an Epic account first: its baseline decides which kills are new',
  observations_required: 'observations is required',
  invalid_observations: 'observations must be a non-empty array of objects',
  batch_too_large: 'at most 1000 observations per batch',
  invalid_preview: 'preview must be true or false',
  settlement_in_progress: 'Another settlement run is in progress; try again when it ends',
  settlement_lock_lost: 'The run lost its lock and stopped after requesting 12 payouts, which stay requested and will be sent; its summary was not recorded. Retry shortly',
  banano_node_unavailable: 'The Banano node could not be read; nothing was requested or appended',
  operator_seed_unreadable: 'The stored operator seed cannot be decrypted with this master key, or its file cannot be read',
  operator_seed_not_configured: 'No operator seed is configured: store one with PUT /v1/admin/operator-seed',
  payout_not_failed: 'The payout is pending; only a failed payout can be retried or cancelled',
  payout_block_on_chain: 'A block of one of the failed payout\'s attempts is on the chain: it was paid. Retry it instead; nothing was appended',
  reason_required: 'reason is required',
  invalid_reason: 'reason must be 1 to 500 characters, not counting surrounding whitespace',
  empty_config_change: 'Give at least one of the settings',
  invalid_ban_per_kill: 'banPerKill must be a decimal string of BAN above 0 and at most 1000, with at most 8 decimals',
  invalid_daily_kill_cap: 'dailyKillCap must be a whole number from 0 to 1000000',
  invalid_weekly_kill_cap: 'weeklyKillCap must be a whole number from 0 to 1000000',
  invalid_min_operator_balance_ban: 'minOperatorBalanceBan must be a decimal string of BAN, at most 10000000000, with at most 8 decimals',
  invalid_settlement_interval_seconds: 'settlementIntervalSeconds must be a whole number from 0 to 604800',
  invalid_settlement_batch_size: 'settlementBatchSize must be a whole number from 0 to 1000000',
  invalid_seed: 'seed must be exactly 64 hexadecimal characters',
  master_key_not_configured: 'LEDGER_MASTER_KEY is not set, so the operator seed cannot be stored encrypted',
  master_key_retired: 'This instance runs with a master key that a rotation, or a seed stored under another key, retired; restart it with the current key',
  gateway_dry_run: 'Payouts run dry (no BANANO_RPC_URL): there is no chain to rebuild donations from',
  block_in_flight: 'The operator\'s last signed block is not on the chain yet; nothing was appended',
  operator_account_busy: 'Another writer of the operator account holds its lock; nothing was appended. Try again shortly',
  operator_history_too_long: 'The operator chain has more than 200000 blocks; nothing was appended',
  invalid_action: 'action must look like payout.cancel',
  invalid_actor: 'actor must be an API key name',
  invalid_target_type: 'targetType must be a word like payout',
  invalid_target_id: 'targetId must be an id',
  invalid_as_of: instantMessage('asOf'),
  as_of_in_future: 'asOf is in the future; leave it out for the user now',
  as_of_with_min_position: 'asOf reads the event store itself, which is never behind: leave minPosition out',
  invalid_since: instantMessage('since'),
  invalid_until: instantMessage('until'),
};

function isReference(value: unknown): value is ReferenceObject {
  return typeof value === 'object' && value !== null && '$ref' in value;
}

/**
 * An example of `schema` built from its properties' examples, following references, so every
 * success answer shows a whole body. Undefined when a property has neither example nor null.
 */
function exampleOf(schema: SchemaObject | ReferenceObject, document: OpenAPIObject, depth = 0): unknown {
  if (depth > 8) return undefined;
  if (isReference(schema)) {
    const target = document.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')];
    return target === undefined ? undefined : exampleOf(target, document, depth + 1);
  }
  if (schema.example !== undefined) return schema.example;
  if (schema.oneOf !== undefined && schema.oneOf.length > 0) return exampleOf(schema.oneOf[0], document, depth + 1);
  if (schema.allOf !== undefined) {
    const parts = schema.allOf.map((part: SchemaObject | ReferenceObject) => exampleOf(part, document, depth + 1));
    return parts.every((part: unknown) => typeof part === 'object' && part !== null && !Array.isArray(part)) ? Object.assign({}, ...parts) : parts[0];
  }
  if (schema.type === 'array' && schema.items !== undefined) {
    const item = exampleOf(schema.items, document, depth + 1);
    return item === undefined ? undefined : [item];
  }
  if (schema.properties !== undefined) {
    const entries = Object.entries(schema.properties).map(([name, property]) => [name, exampleOf(property, document, depth + 1)] as const);
    return entries.some(([, value]) => value === undefined) ? undefined : Object.fromEntries(entries);
  }
  return schema.nullable === true ? null : undefined;
}
