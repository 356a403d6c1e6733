import { type FastifyRequest } from 'fastify';
import { type ApiKeyRecord, type ApiKeys } from './api-keys';

/** What a request's Authorization header proved: nothing sent, something that is no live key, or a key. */
export type Presented =
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'key'; readonly record: ApiKeyRecord };

/**
 * A bearer token is printable ASCII; anything longer than 200 characters is not one of our keys.
 * The scheme is matched in any case and may be followed by several spaces (RFC 9110 §11.1: the
 * auth-scheme is case-insensitive; §11.4: one or more spaces before the credentials).
 */
const BEARER = /^bearer +([!-~]{1,200})$/i;

/**
 * The latest answer per request. The rate limiter asks first (in an onRequest hook, to know whose
 * bucket the request counts against), as soon as the headers are in; the guard asks again once the
 * body is in (authenticateRequestNow).
 */
const answers = new WeakMap<FastifyRequest, Promise<Presented>>();

/** Who the request's Authorization header says is calling; looked up at most once per request. */
export function authenticateRequest(request: FastifyRequest, keys: ApiKeys): Promise<Presented> {
  let answer = answers.get(request);
  if (answer === undefined) {
    answer = authenticate(request.headers.authorization, keys);
    answers.set(request, answer);
  }
  return answer;
}

/**
 * Who is calling, judged now: what the guard acts on. A body may arrive any time after the headers
 * the first answer was given on, and a key live then may have been revoked or have expired since,
 * so a live key is looked up again (from the cache of live keys as a rule: no round trip). No key
 * and a wrong key stay so: a key is never made live after it was first presented.
 */
export async function authenticateRequestNow(request: FastifyRequest, keys: ApiKeys): Promise<Presented> {
  const earlier = answers.get(request);
  if (earlier === undefined || (await earlier).kind !== 'key') return authenticateRequest(request, keys);
  const answer = authenticate(request.headers.authorization, keys);
  answers.set(request, answer);
  return answer;
}

async function authenticate(header: string | undefined, keys: ApiKeys): Promise<Presented> {
  if (header === undefined || header === '') return { kind: 'none' };
  const presented = BEARER.exec(header)?.[1];
  const record = presented === undefined ? null : await keys.authenticate(presented);
  return record === null ? { kind: 'invalid' } : { kind: 'key', record };
}
