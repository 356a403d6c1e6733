/**
 * A broken business rule. `code` is stable and named after the rule (`invalid_banano_address`);
 * integrations switch on it. The HTTP layer turns it into problem+json with `status`.
 * Deciders throw it, so this file imports nothing from Nest.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 422,
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(code: string, message: string) {
    super(code, message, 404);
  }
}
