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
  const warning = warnings[0];
  if (warning === undefined) return null;
  if (warning.startsWith('"tlsVerifyCert"')) {
    return 'sets tlsVerifyCert=false, which the EventStoreDB client does not support and ignores: give it the CA with tlsCAFile instead';
  }
  const key = /^Unknown option key "([^"\n]*)"/.exec(warning)?.[1];
  const shown = key !== undefined && QUOTABLE_KEY.test(key) ? `"${key}"` : '(not shown)';
  return `holds an option the EventStoreDB client does not know, ${shown}, and would ignore`;
}
