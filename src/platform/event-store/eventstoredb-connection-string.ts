// The client's own parser, the one EventStoreDBClient.connectionString runs: the package exports
// no other way to check a connection string without making a client.
import { parseConnectionString } from '@eventstore/db-client/dist/Client/parseConnectionString';

/** A query option's key is a short word; anything else is not quoted in a message. */
const QUOTABLE_KEY = /^[A-Za-z][A-Za-z_-]{0,39}$/;

/**
 * What is wrong with an EventStoreDB connection string, in one sentence that never quotes it (it
 * may hold a password), or null when the client reads it as written. The client only warns about
 * an option it does not know, and about `tlsVerifyCert=false`, which it does not support, and
 * ignores either; its warning goes to the console and quotes the whole string, password and all.
 * So both are refused here, with the console kept quiet while the parser runs.
 */
export function eventStoreConnectionStringProblem(value: string): string | null {
  if (!/^esdb(\+discover)?:\/\//.test(value)) return 'must be an esdb:// or esdb+discover:// connection string (not shown: it may hold a password)';
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...parts: unknown[]) => void warnings.push(parts.map(String).join(' '));
  try {
    parseConnectionString(value);
  } catch (error) {
    // The client decodes each option's value with decodeURIComponent, which throws on `%zz`.
    if (error instanceof URIError) return 'is not a connection string the EventStoreDB client reads: it holds a malformed percent-escape (not shown: it may hold a password)';
    const { expected, location } = error as { expected?: unknown; location?: unknown };
    if (typeof expected !== 'string' || !Array.isArray(location)) throw error;
    return `is not a connection string the EventStoreDB client reads: at character ${String(location[0])} it expected ${expected} (not shown: it may hold a password)`;
  } finally {
    console.warn = warn;
  }
  const badHost = hostPorts(value).findIndex((port) => port !== null && !isPort(port));
  if (badHost !== -1) {
    return `must give each host a port from 1 to 65535, or none for 2113, and its host ${badHost + 1} has another (not shown: it may hold a password)`;
  }
  const warning = warnings[0];
  if (warning === undefined) return null;
  if (warning.startsWith('"tlsVerifyCert"')) {
    return 'sets tlsVerifyCert=false, which the EventStoreDB client does not support and ignores: give it the CA with tlsCAFile instead';
  }
  const key = /^Unknown option key "([^"\n]*)"/.exec(warning)?.[1];
  const shown = key !== undefined && QUOTABLE_KEY.test(key) ? `"${key}"` : '(not shown)';
  return `holds an option the EventStoreDB client does not know, ${shown}, and would ignore`;
}

/**
 * The port written after each host of a string the client has read, or null for a host without
 * one (the client's default, 2113). The documented form is `esdb://[user:password@]host[:port]`,
 * then `,host[:port]` for each further node, then `?key=value&…` (esdb+discover:// names one host
 * whose DNS lists the nodes). The credentials are matched as the client's parser matches them, so
 * the hosts are what lies between them and the first `?`, which no host may hold.
 */
function hostPorts(value: string): Array<string | null> {
  const afterScheme = value.trim().replace(/\/+$/, '').replace(/^esdb(\+discover)?:\/\//, '');
  const hosts = afterScheme.replace(/^[^:]+:[^@]+@/, '');
  const query = hosts.indexOf('?');
  return (query === -1 ? hosts : hosts.slice(0, query))
    .split(',')
    .filter((host) => host.trim() !== '')
    // A slash may end the hosts before the options (`host:2113/?tls=false`), as the client reads it.
    .map((host) => host.trim().replace(/\/$/, '').split(':')[1] ?? null);
}

/**
 * The client reads a port with parseInt, which takes 99999, 0, -1 and the 21 of `21x3` as they come,
 * and leaves each to fail at the first connection, or to reach another port than the one meant.
 */
function isPort(text: string): boolean {
  const trimmed = text.trim();
  return /^[0-9]{1,5}$/.test(trimmed) && Number(trimmed) >= 1 && Number(trimmed) <= 65_535;
}
