import { DatabaseError } from 'pg';
import {
  BackendTerminatedError,
  ConnectionError,
  InputSyntaxError,
  sql,
  StatementTimeoutError,
  UniqueIntegrityConstraintViolationError,
} from 'slonik';
import { NotFoundException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { toProblem, withoutSecretShapes } from './problem';

/** A driver error as pg makes it from the server's answer. */
function pgError(code: string, message: string): DatabaseError {
  const error = new DatabaseError(message, 0, 'error');
  error.code = code;
  return error;
}

describe('toProblem of a database failure', () => {
  it.each([
    ['no connection (refused, or none in time)', new ConnectionError('connect ECONNREFUSED 127.0.0.1:5432', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })],
    ['a terminated backend', new BackendTerminatedError(pgError('57P01', 'terminating connection due to administrator command'))],
    ['a statement timeout', new StatementTimeoutError(pgError('57014', 'canceling statement due to statement timeout'))],
    ['the driver\'s own statement timeout', pgError('57014', 'canceling statement due to statement timeout')],
    ['a server starting up', pgError('57P03', 'the database system is starting up')],
    ['too many connections', pgError('53300', 'sorry, too many clients already')],
    ['a dropped socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
  ])('answers %s 503 database_unavailable', (_name, error) => {
    expect(toProblem(error)).toMatchObject({ status: 503, code: 'database_unavailable' });
  });

  it.each([
    ['a syntax error', new InputSyntaxError(pgError('42601', 'syntax error at or near "SELEC"'), sql.unsafe`SELEC 1`)],
    ['a broken unique constraint', new UniqueIntegrityConstraintViolationError(pgError('23505', 'duplicate key value violates unique constraint'))],
    ['an undefined column', pgError('42703', 'column "nope" does not exist')],
    ['an error of our own', new Error('unexpected state')],
  ])('leaves %s a 500: a bug, not an outage', (_name, error) => {
    expect(toProblem(error)).toMatchObject({ status: 500, code: 'internal_error' });
  });
});

describe('withoutSecretShapes', () => {
  it('leaves out a master key, a seed in hex or base64, and an API key, and keeps ordinary names', () => {
    const bytes = randomBytes(32);
    const shown = withoutSecretShapes(
      `property ${bytes.toString('base64')} and ${bytes.toString('base64url')} and ${bytes.toString('hex')} and p2s_${bytes.toString('base64url')} should not exist`,
    );
    for (const form of ['base64', 'base64url', 'hex'] as const) expect(shown).not.toContain(bytes.toString(form).slice(0, 12));
    expect(withoutSecretShapes('observations.0.lifetimeKills must not be negative')).toBe('observations.0.lifetimeKills must not be negative');
  });

  it('has nothing to do for Nest\'s 404: its path and query string are left out altogether', () => {
    expect(toProblem(new NotFoundException('Cannot GET /v1/secret-here?token=1'))).toMatchObject({ status: 404, code: 'route_not_found', detail: 'No route matches the path' });
  });
});

describe('toProblem of a Fastify refusal', () => {
  it('leaves a client that hung up mid-body the client\'s 400, though its code is ECONNRESET', () => {
    // Node ends the body of a request whose client went away with "aborted", code ECONNRESET, and
    // Fastify marks it 400: the client's doing, not a database that dropped its socket.
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    expect(toProblem(aborted)).toMatchObject({ status: 400, code: 'bad_request' });
  });

  it('quotes no secret-shaped value of the header Fastify repeats', () => {
    const key = randomBytes(32).toString('base64');
    const refused = Object.assign(new Error(`Unsupported Media Type: text/${key}`), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 });
    const shown = toProblem(refused);
    expect(shown).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(JSON.stringify(shown)).not.toContain(key.slice(0, 12));
  });
});
