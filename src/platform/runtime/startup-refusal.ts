/**
 * A refusal to start whose message says in full what is wrong and what to do (another process
 * holds the embedded database, an applied migration was edited): told without a stack trace
 * (startupFailureMessage).
 */
export class StartupRefusal extends Error {}
