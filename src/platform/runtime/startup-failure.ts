import { ConfigError } from '../config/config';
import { StartupRefusal } from './startup-refusal';

/**
 * How a process that could not start says so: a misconfiguration as one message listing every bad
 * variable, and a refusal by its message alone (a stack trace would only hide them); anything
 * else, unforeseen, with its stack.
 */
export function startupFailureMessage(what: string, error: unknown): string {
  if (error instanceof ConfigError) {
    return [`${what} cannot start: the environment is misconfigured.`, ...error.problems.map((problem) => `  - ${problem}`), 'See .env.example for every variable.', ''].join('\n');
  }
  if (error instanceof StartupRefusal) return `${what} cannot start: ${error.message}\n`;
  return `${what} failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`;
}
