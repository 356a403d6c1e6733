import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { getMetadataStorage } from 'class-validator';
import secureJson from 'secure-json-parse';
import { NoBodyPipe, takesNoBody } from '../src/platform/http/no-body.pipe';
import { JSON_DEPTH_MAX, jsonBoundBroken, PATH_PARAMETER_LENGTH_MAX, URL_LENGTH_MAX } from '../src/platform/http/request-bounds';
import { RequestValidationPipe } from '../src/platform/http/validation.pipe';
import { ApiKeys } from '../src/security/api-keys';
import { type Metatype, pathParameters, type Route, routeTable } from './support/route-table';
import { call, earner } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';
import { mulberry32 } from './support/mulberry32';

/*
 * Hostile input, generated over every route of the route table (so a route added later is fuzzed
 * without anyone touching this file): malformed JSON, wrong types, huge and negative numbers,
 * prototype-pollution keys, unicode and control characters, path traversal and weird ids, long
 * strings and URLs, arrays where objects belong, wrong media types, duplicate query parameters,
 * missing and wrong keys. Every request is invalid: each breaks at least one rule, either by
 * construction (a malformed body, a missing key) or as confirmed by the service's own parser and
 * validation pipe run on it here, so that no request could append an event. Every answer must be
 * a 4xx problem+json with a stable code, and the event store's head must not move.
 *
 * FUZZ_SEED reproduces a run (the seed is printed first); FUZZ_REQUESTS changes its size.
 */

const SEED = process.env.FUZZ_SEED === undefined || process.env.FUZZ_SEED === '' ? randomBytes(4).readUInt32LE(0) : Number(process.env.FUZZ_SEED) >>> 0;
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? '12000');
const CONCURRENCY = 8;
/** The body limit of the app under test: the default, so oversized bodies are realistic. */
const BODY_LIMIT_BYTES = 1_048_576;
/** Positions are PostgreSQL bigints. */
const POSITION_MAX = 9_223_372_036_854_775_807n;

const random = mulberry32(SEED);
const int = (below: number): number => Math.floor(random() * below);
const chance = (p: number): boolean => random() < p;
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const times = <T>(n: number, make: (index: number) => T): T[] => Array.from({ length: n }, (_, index) => make(index));
const hex = (length: number): string => times(length, () => '0123456789abcdef'[int(16)]).join('');
/** A well-formed UUID no record has, from the seeded generator. */
const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;

const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '\t\n', 'a', '0', '-1', '1.5', '1e309', 'NaN', 'Infinity', 'null', 'undefined', 'true', '[]', '{}',
  '9'.repeat(500), '18446744073709551616', '9223372036854775808', '-9223372036854775809', '0x1F', '１２３', '٣٤',
  '../../../../etc/passwd', '..\\..\\..\\windows\\win.ini', '..%2F..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f%2e%2e%2f', '....//....//etc/passwd',
  '/etc/passwd\u0000.png', 'file:///etc/passwd', '..', '.', '~root',
  '\u0000', '\u0001\u0002\u001b[31m\u007f', '\r\nSet-Cookie: pwned=1', '\u202eevil\u202c', 'مرحبا بالعالم', '😀🔥💸🍌', 'Z\u0364\u0351a\u0308l\u0352g\u0317o',
  '\ufeffbom', '\u200b\u200c\u200d', "' OR '1'='1' --", '"; DROP TABLE events; --', '<script>alert(1)</script>', '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}', '%s%s%n', '__proto__', 'constructor', 'prototype', 'toString',
  '6f1c0000-0000-4000-8000-00000000000g', '6f1c0000-0000-4000-8000-0000000000000', '{6f1c0000-0000-4000-8000-000000000000}', '6f1c0000000040008000000000000000',
  'ban_1', `ban_${'1'.repeat(60)}`, `nano_${'3'.repeat(60)}`, '2024-02-30T00:00:00Z', '2024-13-01T00:00:00Z', '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z', '2024-01-01', '2024-01-01 00:00:00Z', '1700000000',
  // ISO-8601 that Date cannot hold (week, ordinal and basic dates, an hour alone, a decimal comma), and a time without a zone.
  '2024-W01-1', '2024-001', '20240101T000000Z', '2024-01-01T00', '2024-01-01T00:00:00,5Z', '2024-01-01T00:00:00', 'A'.repeat(300), 'é'.repeat(2_000), 'x'.repeat(70_000),
];

/** Numbers as JSON text, including those JSON.stringify cannot write (1e309 parses to Infinity). */
const HOSTILE_NUMBERS: readonly string[] = [
  '1e309', '-1e309', '18446744073709551616', '9223372036854775807', '9'.repeat(500), `-${'9'.repeat(400)}`, '-1', '-0', '0', '1.5', '0.1',
  '1e-400', '2147483648', '9007199254740993', '10000001', '1e21', '-2147483649', '4.9e-324', '1.7976931348623157e308', '1e2',
];

const CHARACTER_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x20, 0x7e], [0x00, 0x1f], [0x7f, 0x9f], [0xa0, 0x2fff], [0x0590, 0x06ff], [0x200b, 0x202e], [0xfe00, 0xfffd], [0x1f300, 0x1faff],
];

function randomString(): string {
  const length = chance(0.9) ? int(40) : 200 + int(5_000);
  return times(length, () => {
    const [low, high] = pick(CHARACTER_RANGES);
    return String.fromCodePoint(low + int(high - low + 1));
  }).join('');
}

const hostileString = (): string => (chance(0.6) ? pick(HOSTILE_STRINGS) : randomString());

/** A hostile JSON value, as text. */
function hostileJson(depth = 0): string {
  switch (int(9)) {
    case 0:
    case 1:
      return JSON.stringify(hostileString());
    case 2:
      return pick(HOSTILE_NUMBERS);
    case 3:
      return pick(['true', 'false', 'null']);
    case 4:
      return depth < 3 ? `[${times(int(4), () => hostileJson(depth + 1)).join(',')}]` : '[]';
    case 5:
      return depth < 3 ? jsonObject(times(int(3), () => [hostileKey(), hostileJson(depth + 1)])) : '{}';
    case 6:
      // A lone surrogate: valid JSON text, invalid UTF-16 once parsed.
      return JSON.stringify(`${pick(['', 'a'])}\ud83d${pick(['', 'b'])}`);
    default:
      return String(int(2_000) - 1_000);
  }
}

const POLLUTING_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf'];

function hostileKey(): string {
  return chance(0.3) ? pick(POLLUTING_KEYS) : chance(0.5) ? pick(HOSTILE_STRINGS).slice(0, 300) : randomString().slice(0, 60);
}

const jsonObject = (entries: ReadonlyArray<readonly [string, string]>): string => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;

/** A payload a polluter would send: `__proto__` and `constructor.prototype` carrying a marker. */
function pollutingJson(): string {
  return pick([
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"__proto__":{"__proto__":{"polluted":"yes"}}}',
    '[{"__proto__":{"polluted":"yes"}}]',
    '"polluted"',
    '{"polluted":"yes"}',
  ]);
}

/** Plausible values of the fields the routes have today, as JSON text: the noise around a violation. */
function sampleFor(field: string, ids: Ids): string | null {
  const samples: Record<string, () => string> = {
    discordUserId: () => JSON.stringify(`7${hex(17).replace(/[a-f]/g, '1')}`),
    regionCode: () => '"EU"',
    epicAccountId: () => JSON.stringify(hex(32)),
    lifetimeKills: () => String(int(1_000)),
    observedAt: () => JSON.stringify(new Date(Date.now() - 60_000).toISOString()),
    address: () => JSON.stringify(ids.address),
    message: () => '"I own this wallet"',
    signature: () => JSON.stringify(hex(128)),
    reason: () => '"fuzzing"',
    preview: () => pick(['true', 'false']),
    userId: () => JSON.stringify(pick([ids.userId, uuid()])),
    observations: () => `[${times(1 + int(3), () => itemSampleFor('observations', ids)).join(',')}]`,
  };
  return samples[field]?.() ?? null;
}

/** A plausible item of an array field, as JSON text. */
function itemSampleFor(field: string, ids: Ids): string {
  if (field === 'observations') return jsonObject([['userId', JSON.stringify(ids.userId)], ['lifetimeKills', String(int(100))]]);
  return '{}';
}

interface Ids {
  readonly userId: string;
  readonly payoutId: string;
  readonly flagId: string;
  readonly address: string;
}

type Body = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'oversized'; readonly bytes: number };

interface FuzzRequest {
  readonly route: Route;
  readonly category: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Body | null;
  /** The codes the answer must have, when only one rule can refuse the request. */
  readonly codes?: readonly string[];
}

interface Outcome {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

const storage = getMetadataStorage();
const fieldsOf = (dto: Metatype | null): string[] =>
  dto === null ? [] : Object.keys(storage.groupByPropertyName(storage.getTargetValidationMetadatas(dto, '', true, false)));
const requiredFieldsOf = (dto: Metatype | null): string[] =>
  dto === null ? [] : [...new Set(storage.getTargetValidationMetadatas(dto, '', true, false).filter((rule) => rule.type === 'isDefined').map((rule) => rule.propertyName))];
const designTypeOf = (dto: Metatype, field: string): unknown => Reflect.getMetadata('design:type', dto.prototype as object, field);

/**
 * The service's own verdict on an input: its validation pipe, run here. A pipe that throws
 * anything but a validation error would make the service answer 500; such input is sent too.
 */
const pipe = new RequestValidationPipe();
async function refusedBy(dto: Metatype | null, type: 'body' | 'query' | 'param', value: unknown): Promise<boolean> {
  if (dto === null) return false;
  try {
    await pipe.transform(value, { type, metatype: dto as never, data: undefined });
    return false;
  } catch {
    return true;
  }
}

/** A route that reads no body on a method that carries one: it takes none, or `{}` (README "HTTP API"). */
const routeTakesNoBody = (route: Route): boolean => takesNoBody(route.method, route.body.length > 0);

const noBody = new NoBodyPipe();

/** Whether the service refuses a JSON body before any handler runs: unparseable, too deep, or invalid. */
async function bodyRefused(route: Route, text: string): Promise<boolean> {
  let parsed: unknown;
  try {
    parsed = secureJson.parse(text);
  } catch {
    return true;
  }
  if (jsonBoundBroken(parsed, JSON_DEPTH_MAX) === 'json_too_deep') return true;
  if (routeTakesNoBody(route)) {
    try {
      noBody.transform(parsed);
      return false;
    } catch {
      return true;
    }
  }
  return refusedBy(route.body[0]?.metatype ?? null, 'body', parsed);
}

/** A URL path segment, or null for a value no URL can carry (a lone surrogate). */
function segment(value: string): string | null {
  try {
    return encodeURIComponent(value);
  } catch {
    return null;
  }
}

const query = (pairs: ReadonlyArray<readonly [string, string]>): string | null => {
  const encoded = pairs.map(([key, value]) => [segment(key), segment(value)]);
  if (encoded.some(([key, value]) => key === null || value === null)) return null;
  return encoded.length === 0 ? '' : `?${encoded.map(([key, value]) => `${key}=${value}`).join('&')}`;
};

/** The query object Fastify's router builds from `pairs` (a repeated key becomes an array). */
function queryObject(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string | string[]> {
  const object = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of pairs) {
    const previous = Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
    object[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return object;
}

class Generator {
  constructor(
    private readonly ids: Ids,
    private readonly keys: { readonly valid: string; readonly revoked: string },
    private readonly head: bigint,
  ) {}

  private idFor(parameter: string): string {
    const real: Record<string, string> = { userId: this.ids.userId, payoutId: this.ids.payoutId, flagId: this.ids.flagId };
    return chance(0.5) && real[parameter] !== undefined ? real[parameter] : uuid();
  }

  /** The route's path with well-formed ids (real or unknown), and one parameter replaced when asked. */
  private path(route: Route, replace?: { readonly name: string; readonly raw: string }): string {
    return route.path.replace(/:([A-Za-z]+)/g, (_match, name: string) => (replace?.name === name ? replace.raw : this.idFor(name)));
  }

  private validParams(route: Route): Record<string, string> {
    return Object.fromEntries(pathParameters(route.path).map((name) => [name, this.idFor(name)]));
  }

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.keys.valid}` };
  }

  /** A body with every declared field set to a sample, a hostile value, or left out. */
  private noiseBody(route: Route, overrides: Record<string, string | undefined> = {}): string {
    const dto = route.body[0]?.metatype ?? null;
    const entries: Array<readonly [string, string]> = [];
    for (const field of fieldsOf(dto)) {
      if (field in overrides) {
        const value = overrides[field];
        if (value !== undefined) entries.push([field, value]);
        continue;
      }
      const sample = sampleFor(field, this.ids);
      const roll = random();
      if (roll < 0.6 && sample !== null) entries.push([field, sample]);
      else if (roll < 0.8) entries.push([field, hostileJson()]);
    }
    for (const [field, value] of Object.entries(overrides)) if (!fieldsOf(dto).includes(field) && value !== undefined) entries.push([field, value]);
    return jsonObject(entries);
  }

  private json(text: string): Body {
    return { kind: 'text', text };
  }

  private request(route: Route, category: string, parts: { path?: string; headers?: Record<string, string>; body?: Body | null; codes?: readonly string[] }): FuzzRequest {
    return { route, category, method: route.method, path: parts.path ?? this.path(route), headers: parts.headers ?? this.auth(), body: parts.body ?? null, codes: parts.codes };
  }

  /** The kinds of invalid request this route can be sent, with how often to pick each. */
  categories(route: Route): Array<readonly [string, number]> {
    const hasBody = route.method !== 'GET';
    const bodyDto = route.body[0]?.metatype ?? null;
    const queryDto = route.query[0]?.metatype ?? null;
    const queryFields = fieldsOf(queryDto);
    const list: Array<readonly [string, number]> = [
      ['url:bad-encoding', 1],
      ['url:too-long', 0.5],
      ['url:traversal', 1],
      ['headers:too-large', 0.2],
    ];
    if (route.access?.kind !== 'public') list.push(['auth:no-key', 1], ['auth:bad-key', 1]);
    if (pathParameters(route.path).length > 0 && route.params.length > 0) list.push(['param:weird-id', 3], ['param:traversal', 1], ['param:too-long', 0.5]);
    if (queryDto !== null) list.push(['query:field', 3], ['query:duplicate', 1], ['query:unknown', 1], ['query:pollution', 1]);
    if (route.method === 'GET' && queryFields.includes('minPosition')) list.push(['query:min-position-ahead', 0.3]);
    if (route.method === 'GET' && queryFields.includes('cursor')) list.push(['query:tampered-cursor', 1]);
    if (hasBody) list.push(['body:malformed-json', 2], ['body:wrong-content-type', 1], ['body:no-content-type', 0.3], ['body:oversized', 0.2], ['body:too-deep', 0.5]);
    if (bodyDto !== null) {
      list.push(['body:not-an-object', 1], ['body:field', 4], ['body:unknown-property', 1], ['body:pollution', 1], ['body:long-string', 1]);
      if (requiredFieldsOf(bodyDto).length > 0) list.push(['body:missing-field', 1]);
      if (fieldsOf(bodyDto).some((field) => designTypeOf(bodyDto, field) === Array)) list.push(['body:nested-structure', 1], ['body:oversized-array', 0.3]);
    }
    // A route that takes no body refuses one that is not an object, or has any property: once it
    // ran as if no body were sent, so `{"force": true}` looked taken.
    if (routeTakesNoBody(route)) list.push(['body:not-an-object', 1], ['body:unknown-property', 1], ['body:pollution', 1]);
    return list;
  }

  async generate(route: Route): Promise<FuzzRequest> {
    const categories = this.categories(route);
    const total = categories.reduce((sum, [, weight]) => sum + weight, 0);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      let roll = random() * total;
      const category = categories.find(([, weight]) => (roll -= weight) < 0)?.[0] ?? categories[0][0];
      const request = await this.make(route, category);
      if (request !== null) return request;
    }
    throw new Error(`no invalid request found for ${route.method} ${route.path} in 50 attempts`);
  }

  /** One request of `category`, or null when this attempt happened to make nothing invalid. */
  private async make(route: Route, category: string): Promise<FuzzRequest | null> {
    const bodyDto = route.body[0]?.metatype ?? null;
    const queryDto = route.query[0]?.metatype ?? null;
    const paramsDto = route.params[0]?.metatype ?? null;
    const withBody = route.method === 'GET' ? null : this.json(this.noiseBody(route));
    switch (category) {
      case 'url:bad-encoding': {
        // A percent sign that decodes to nothing, an overlong '/', a UTF-16 surrogate in UTF-8, a cut sequence.
        const bad = pick(['%', '%zz', '%C0%AF', '%ED%A0%80', '%E0%A4%A', '%%32%65', '%u002e']);
        const path = this.path(route);
        const cut = path.lastIndexOf('/') + 1 + int(path.length - path.lastIndexOf('/'));
        return this.request(route, category, { path: `${path.slice(0, cut)}${bad}${path.slice(cut)}`, body: withBody });
      }
      case 'url:too-long':
        return this.request(route, category, { path: `${this.path(route)}?pad=${'x'.repeat(URL_LENGTH_MAX + int(8_000))}`, body: withBody });
      case 'url:traversal':
        return this.request(route, category, {
          path: `${this.path(route)}${pick(['/../../../../etc/passwd', '/..%2F..%2F..%2Fetc%2Fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/..;/..;/etc/passwd', '/.%00./etc/passwd', '\\..\\..\\win.ini'.replace(/\\/g, '%5C')])}`,
          body: withBody,
        });
      case 'headers:too-large':
        return this.request(route, category, { headers: { ...this.auth(), 'x-fuzz-padding': 'x'.repeat(17_000 + int(20_000)) }, body: withBody });
      case 'auth:no-key':
        return this.request(route, category, { headers: chance(0.5) ? {} : { authorization: '' }, body: withBody });
      case 'auth:bad-key': {
        const presented = pick([
          `Bearer p2s_${randomBytes(32).toString('base64url')}`,
          `Bearer ${this.keys.revoked}`,
          // The scheme's case does not matter (RFC 9110 §11.1), but what separates it does: one or more spaces.
          `Bearer\t${this.keys.valid}`,
          `Bearer${this.keys.valid}`,
          `Bearer ${this.keys.valid}x`,
          `Bearer ${this.keys.valid.slice(0, -1)}`,
          `Basic ${Buffer.from(`admin:${this.keys.valid}`).toString('base64')}`,
          `Bearer ${'x'.repeat(300 + int(3_000))}`,
          `Bearer ${this.keys.valid} ${this.keys.valid}`,
          'Bearer',
          `Token ${this.keys.valid}`,
          'Bearer ../../etc/passwd',
        ]);
        return this.request(route, category, { headers: { authorization: presented }, body: withBody });
      }
      case 'param:weird-id':
      case 'param:traversal':
      case 'param:too-long': {
        const names = pathParameters(route.path);
        const name = pick(names);
        const value =
          category === 'param:too-long'
            ? pick(['a', '0', '-', 'é']).repeat(PATH_PARAMETER_LENGTH_MAX + 1 + int(5_000))
            : category === 'param:traversal'
              ? pick(['..', '../..', '../../../etc/passwd', '..\\..\\boot.ini', '%2e%2e%2f', '....//', '..;', './.', '/etc/passwd', `${this.ids.userId}/../${uuid()}`])
              : chance(0.15)
                ? pick([this.ids.userId.toUpperCase(), `${this.ids.userId} `, ` ${this.ids.userId}`, `${uuid()}\u0000`, uuid().replace(/-/g, ''), `${uuid()}.json`])
                : hostileString();
        const raw = segment(value);
        if (raw === null || raw === '') return null;
        if (category !== 'param:too-long' && !(await refusedBy(paramsDto, 'param', { ...this.validParams(route), [name]: value }))) return null;
        return this.request(route, category, { path: this.path(route, { name, raw }), body: withBody });
      }
      case 'query:field':
      case 'query:duplicate':
      case 'query:unknown':
      case 'query:pollution': {
        const fields = fieldsOf(queryDto);
        const pairs: Array<readonly [string, string]> = [];
        if (category === 'query:field') pairs.push([pick(fields), chance(0.3) ? pick(HOSTILE_NUMBERS) : hostileString()]);
        if (category === 'query:duplicate') {
          const field = pick(fields);
          for (const value of times(2 + int(3), () => (chance(0.5) ? String(1 + int(100)) : hostileString()))) pairs.push([field, value]);
        }
        if (category === 'query:unknown') pairs.push([hostileKey(), hostileString()]);
        if (category === 'query:pollution') pairs.push([pick(['__proto__', 'constructor', 'toString', '__proto__[polluted]', 'constructor[prototype][polluted]', 'hasOwnProperty']), 'yes']);
        const text = query(pairs);
        if (text === null || !(await refusedBy(queryDto, 'query', queryObject(pairs)))) return null;
        return this.request(route, category, { path: `${this.path(route)}${text}`, body: withBody });
      }
      case 'query:min-position-ahead': {
        // Well-formed, but past the last event stored: no command ever returned it.
        const ahead = this.head + 1n + (BigInt(int(2 ** 31)) * (POSITION_MAX - this.head - 1n)) / BigInt(2 ** 31);
        return this.request(route, category, { path: `${this.path(route)}?minPosition=${ahead.toString()}` });
      }
      case 'query:tampered-cursor': {
        // Whatever keys a route's cursor holds, each is missing here or holds no position.
        const notPosition = (): string => pick(['"9223372036854775808"', '"9999999999999999999"', '"-1"', '1e309', '"x"', 'null', '[]', '{}', '1.5']);
        const cursor = pick([
          () => hostileString(),
          () => Buffer.from(hostileString()).toString('base64url'),
          // Digits past the bigint range once reached the SQL cast: a 500.
          () => Buffer.from(jsonObject('pqrmst'.split('').map((key) => [key, pick(['"9223372036854775808"', '"9999999999999999999"'])]))).toString('base64url'),
          () => Buffer.from(jsonObject('pqrmst'.split('').map((key) => [key, notPosition()]))).toString('base64url'),
          () => Buffer.from(pick(['null', '[]', '"p"', '123', '{"__proto__":{"p":"1"}}'])).toString('base64url'),
        ])();
        const text = query([['cursor', cursor]]);
        if (text === null || cursor.length === 0) return null;
        return this.request(route, category, { path: `${this.path(route)}${text}` });
      }
      case 'body:malformed-json': {
        const text = pick([
          () => '{',
          () => '{"a":',
          () => '{"a":1,}',
          () => "{'a':1}",
          () => '[1,2',
          () => 'NaN',
          () => 'undefined',
          () => '{"a":1}}',
          () => '{"a" 1}',
          () => '01',
          () => '{a:1}',
          () => '"unterminated',
          () => '{"a":"\u0001"}',
          () => '{"a":1e}',
          () => 'tru',
          () => '// comment\n{}',
          () => '{"a":1}garbage',
          () => `${this.noiseBody(route)}\u0000`,
          () => this.noiseBody(route).slice(0, -1 - int(3)),
          () => `{"a":"${'\\'.repeat(1 + 2 * int(5))}"}`,
        ])();
        // Malformed by construction: the same parser the service uses must refuse it. A blank
        // body is no body to the service, and a route without one would run: not this case.
        if (text.trim() === '') return null;
        expect(() => secureJson.parse(text)).toThrow();
        return this.request(route, category, { body: this.json(text), headers: { ...this.auth(), 'content-type': pick(['application/json', 'application/json; charset=utf-8']) } });
      }
      case 'body:wrong-content-type':
        return this.request(route, category, {
          body: this.json(this.noiseBody(route)),
          headers: {
            ...this.auth(),
            'content-type': pick([
              'text/plain',
              'application/xml',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=fuzz',
              'application/problem+json',
              'application/jsonx',
              'application/octet-stream',
              'application/json, text/plain',
              'image/png',
              'garbage',
              '/',
              'application/',
            ]),
          },
        });
      case 'body:no-content-type':
        return this.request(route, category, { body: this.json(this.noiseBody(route)), headers: { ...this.auth(), 'content-type': '' } });
      case 'body:oversized':
        return this.request(route, category, { body: { kind: 'oversized', bytes: BODY_LIMIT_BYTES + 1 + int(65_536) } });
      case 'body:too-deep': {
        const depth = JSON_DEPTH_MAX + 1 + (chance(0.8) ? int(64) : int(200_000));
        const text = chance(0.5) ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        return this.request(route, category, { body: this.json(text) });
      }
      case 'body:not-an-object':
        return this.checkedBody(route, category, pick(['[]', '[{}]', '"x"', '42', 'true', 'null', '[[]]', `[${this.noiseBody(route)}]`, hostileJson()]));
      case 'body:field': {
        const field = pick(fieldsOf(bodyDto));
        const value = designTypeOf(bodyDto as Metatype, field) === Number && chance(0.6) ? pick(HOSTILE_NUMBERS) : hostileJson();
        return this.checkedBody(route, category, this.noiseBody(route, { [field]: value }));
      }
      case 'body:long-string': {
        const field = pick(fieldsOf(bodyDto));
        return this.checkedBody(route, category, this.noiseBody(route, { [field]: JSON.stringify(pick(['x', '9', 'é', '😀', '\u0000']).repeat(100 + int(20_000))) }));
      }
      case 'body:missing-field':
        return this.checkedBody(route, category, this.noiseBody(route, { [pick(requiredFieldsOf(bodyDto))]: undefined }));
      case 'body:unknown-property':
        return this.checkedBody(route, category, this.noiseBody(route, { [hostileKey()]: routeTakesNoBody(route) ? pick([hostileJson(), 'true', 'null', '"x"']) : hostileJson() }));
      case 'body:pollution': {
        const key = pick(POLLUTING_KEYS);
        const value = pick([pollutingJson(), hostileJson(), '1']);
        const fields = fieldsOf(bodyDto);
        const nested = fields.find((field) => designTypeOf(bodyDto as Metatype, field) === Array);
        const text =
          nested !== undefined && chance(0.5)
            ? this.noiseBody(route, { [nested]: `[${jsonObject([['userId', JSON.stringify(this.ids.userId)], ['lifetimeKills', '1'], [key, value]])}]` })
            : this.noiseBody(route, { [key]: value });
        return this.checkedBody(route, category, text);
      }
      case 'body:nested-structure': {
        // An array field whose items are not objects: invalid by what the DTO declares, whatever
        // the validator makes of it (ValidateNested alone once let `[[…]]` through, a 500).
        const field = pick(fieldsOf(bodyDto).filter((name) => designTypeOf(bodyDto as Metatype, name) === Array));
        const item = pick(['[]', '[[]]', `[${itemSampleFor(field, this.ids)}]`, '1', '"x"', 'null', 'true', hostileJson()]);
        return this.request(route, category, { body: this.json(this.noiseBody(route, { [field]: `[${item}]` })) });
      }
      case 'body:oversized-array': {
        const field = pick(fieldsOf(bodyDto).filter((name) => designTypeOf(bodyDto as Metatype, name) === Array));
        const rules = storage.getTargetValidationMetadatas(bodyDto as Metatype, '', true, false).filter((rule) => rule.propertyName === field && rule.name === 'arrayMaxSize');
        const max = Number(rules[0]?.constraints?.[0] ?? 1_000);
        const items = times(max + 1 + int(50), () => itemSampleFor(field, this.ids));
        return this.checkedBody(route, category, this.noiseBody(route, { [field]: `[${items.join(',')}]` }));
      }
      default:
        throw new Error(`unknown category ${category}`);
    }
  }

  /**
   * A JSON body request, if the service's own parser and pipe refuse `text`. On a route that takes
   * no body, a parsable body can be refused for one reason only: it is not `{}`.
   */
  private async checkedBody(route: Route, category: string, text: string): Promise<FuzzRequest | null> {
    if (!(await bodyRefused(route, text))) return null;
    const parsable = ((): boolean => {
      try {
        return jsonBoundBroken(secureJson.parse(text), JSON_DEPTH_MAX) === null;
      } catch {
        return false;
      }
    })();
    const codes = routeTakesNoBody(route) && parsable ? ['invalid_request_body', 'unknown_property'] : undefined;
    return this.request(route, category, { body: this.json(text), headers: { ...this.auth(), 'content-type': 'application/json' }, codes });
  }
}

/** Sends one request over a raw HTTP connection: no URL normalisation, any header, any body. */
function send(agent: Agent, port: number, fuzz: FuzzRequest): Promise<Outcome> {
  const body =
    fuzz.body === null
      ? null
      : fuzz.body.kind === 'text'
        ? Buffer.from(fuzz.body.text, 'utf8')
        : Buffer.concat([Buffer.from('{"pad":"'), Buffer.alloc(fuzz.body.bytes, 'x'), Buffer.from('"}')]);
  const headers: Record<string, string | number> = { ...fuzz.headers };
  if (body !== null) {
    headers['content-length'] = body.length;
    if (!('content-type' in headers)) headers['content-type'] = 'application/json';
    if (headers['content-type'] === '') delete headers['content-type'];
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: fuzz.method, path: fuzz.path, headers, agent }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    // The service may answer (413, 431) and close before it has read the whole request.
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    outgoing.end(body ?? undefined);
  });
}

/** What is wrong with an answer to an invalid request; null when it is a 4xx problem with a stable code (one of `codes`, if given). */
function wrongAnswer(outcome: Outcome, codes?: readonly string[]): string | null {
  if (outcome.status < 400 || outcome.status > 499) return `status ${outcome.status}`;
  if (!outcome.contentType.startsWith('application/problem+json')) return `content-type ${outcome.contentType}`;
  let body: { code?: unknown; status?: unknown };
  try {
    body = JSON.parse(outcome.text) as typeof body;
  } catch {
    return 'a body that is not JSON';
  }
  if (typeof body.code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(body.code)) return `code ${JSON.stringify(body.code)}`;
  if (body.status !== outcome.status) return `body status ${String(body.status)}`;
  if (codes !== undefined && !codes.includes(body.code)) return `code ${body.code}, not ${codes.join(' or ')}`;
  return null;
}

const codeOf = (outcome: Outcome): string => {
  try {
    return String((JSON.parse(outcome.text) as { code?: unknown }).code);
  } catch {
    return '?';
  }
};

const table = (counts: Map<string, number>): string =>
  [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `${key} ${count}`)
    .join(', ');

const bump = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

describe(`hostile input over every route (FUZZ_SEED=${SEED})`, () => {
  let app: TestApp;
  let ids: Ids;
  let revoked: string;

  beforeAll(async () => {
    console.log(`fuzz seed ${SEED}: FUZZ_SEED=${SEED} reproduces this run`);
    app = await startTestApp({
      SETTLEMENT_INTERVAL_SECONDS: '0',
      // Rate limits off: the fuzzer sends thousands of requests a second from one key and address.
      RATE_LIMIT_KEY_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
      HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      // A minPosition past the store's end is refused after the wait; keep the wait short.
      MIN_POSITION_WAIT_MS: '50',
    });
    // Real records, so that ids in paths are sometimes ones that exist: a player with accruals,
    // a payout (settled dry), and an open abuse flag (kills that went down).
    const player = await earner(app, 12);
    await synced(app);
    expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 1 });
    await call(app, 'POST', `/v1/users/${player.userId}/kills`, { lifetimeKills: 3, observedAt: new Date().toISOString() });
    await synced(app);
    const user = await call(app, 'GET', `/v1/users/${player.userId}`);
    const payouts = await call(app, 'GET', `/v1/users/${player.userId}/payouts`);
    const flags = user.body.openFlags as Array<{ flagId: string }>;
    const items = payouts.body.items as Array<{ payoutId: string }>;
    expect(flags).toHaveLength(1);
    expect(items).toHaveLength(1);
    ids = { userId: player.userId, payoutId: items[0].payoutId, flagId: flags[0].flagId, address: player.address };
    const store = new ApiKeys(app.pool);
    revoked = (await store.create({ name: 'fuzz-revoked', scopes: ['admin', 'commands:write', 'queries:read'] })).key;
    await store.revoke('fuzz-revoked');
  });

  afterAll(async () => {
    await app.close();
  });

  it(`answers ${REQUESTS} invalid requests with a 4xx problem, never a 5xx, and appends nothing`, async () => {
    const routes = routeTable(app);
    const head = await app.store.headPosition();
    if (head === null) throw new Error('the set-up appends events');
    const generator = new Generator(ids, { valid: app.apiKey, revoked }, head);

    const started = Date.now();
    const requests: FuzzRequest[] = [];
    for (let n = 0; n < REQUESTS; n += 1) requests.push(await generator.generate(routes[n % routes.length]));
    const generatedMs = Date.now() - started;

    const port = Number(new URL(app.baseUrl).port);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const outcomes: Outcome[] = new Array(requests.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < requests.length; index = next++) {
        outcomes[index] = await send(agent, port, requests[index]).catch((error: unknown) => ({ status: 0, contentType: '', text: String(error) }));
      }
    };
    await Promise.all(times(CONCURRENCY, worker));
    agent.destroy();
    const sentMs = Date.now() - started - generatedMs;

    const byStatus = new Map<string, number>();
    const byCategory = new Map<string, number>();
    const byCode = new Map<string, number>();
    const pairs = new Set<string>();
    const wrong: string[] = [];
    requests.forEach((fuzz, index) => {
      const outcome = outcomes[index];
      bump(byStatus, String(outcome.status));
      bump(byCategory, fuzz.category);
      bump(byCode, codeOf(outcome));
      pairs.add(`${fuzz.route.method} ${fuzz.route.path} ${fuzz.category}`);
      const problem = wrongAnswer(outcome, fuzz.codes);
      if (problem !== null && wrong.length < 20) {
        const body = fuzz.body === null ? '' : fuzz.body.kind === 'text' ? fuzz.body.text.slice(0, 200) : `<${fuzz.body.bytes} bytes>`;
        wrong.push(`#${index} ${fuzz.category} ${fuzz.method} ${fuzz.path.slice(0, 200)} ${JSON.stringify(fuzz.headers).slice(0, 200)} ${body} → ${problem}: ${outcome.text.slice(0, 300)}`);
      }
    });
    const serverErrors = outcomes.filter((outcome) => outcome.status >= 500).length;
    console.log(
      [
        `fuzz seed ${SEED}: ${requests.length} requests over ${routes.length} routes (${pairs.size} route × category pairs), concurrency ${CONCURRENCY}; generated in ${generatedMs} ms, sent in ${sentMs} ms`,
        `by status: ${table(byStatus)}; 5xx = ${serverErrors}`,
        `by category: ${table(byCategory)}`,
        `by code: ${table(byCode)}`,
      ].join('\n'),
    );

    expect(wrong).toEqual([]);
    expect(serverErrors).toBe(0);
    expect(requests.length).toBe(REQUESTS);
    // Every route was fuzzed, each with several kinds of invalid request.
    for (const route of routes) {
      const kinds = [...pairs].filter((pair) => pair.startsWith(`${route.method} ${route.path} `));
      expect({ route: `${route.method} ${route.path}`, kinds: kinds.length >= 3 }).toEqual({ route: `${route.method} ${route.path}`, kinds: true });
    }

    // Nothing was appended, the service still answers, and no prototype was polluted.
    expect(await app.store.headPosition()).toBe(head);
    expect((await call(app, 'GET', '/health')).status).toBe(200);
    expect((await call(app, 'GET', `/v1/users/${ids.userId}`)).status).toBe(200);
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  }, 300_000);
});
