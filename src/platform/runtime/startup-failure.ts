import { ConfigError } from '../config/config';

/**
 * How a process that could not start says so: a misconfiguration as one message listing every bad
 * variable (no stack trace, which would only hide the list), anything else with its stack.
 */
export function startupFailureMessage(what: string, error: unknown): string {
  if (error instanceof ConfigError) {
    return [`${what} cannot start: the environment is misconfigured.`, ...error.problems.map((problem) => `  - ${problem}`), 'See .env.example for every variable.', ''].join('\n');
  }
  return `${what} failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`;
}
