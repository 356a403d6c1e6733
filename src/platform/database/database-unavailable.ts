import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  IdleTransactionTimeoutError,
  StatementCancelledError,
  StatementTimeoutError,
} from 'slonik';

/**
 * Codes of the driver (`pg`, the socket) and SQLSTATEs that say PostgreSQL could not be reached or
 * gave up on the statement: the network, a server shutting down or starting up, too many
 * connections, a connection exception (class 08), a statement timeout or cancel (57014).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** slonik's errors for a connection it could not get or lost, and a statement that ran too long. */
const UNAVAILABLE_CLASSES = [
  ConnectionError,
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  StatementTimeoutError,
  StatementCancelledError,
  IdleTransactionTimeoutError,
];

/**
 * Whether `error` says PostgreSQL was unreachable or failed the request mid-way (connection
 * refused or dropped, backend terminated, no connection in time, statement timeout): worth a retry,
 * unlike a syntax error or a constraint a bug broke, which stay what they are. Looks through a few
 * `cause`s, where slonik and callers keep the driver's error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth += 1) {
    if (UNAVAILABLE_CLASSES.some((unavailable) => current instanceof unavailable)) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    const message = current instanceof Error ? current.message : '';
    if (/Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
