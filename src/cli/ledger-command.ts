import { constants } from 'node:os';
import pino from 'pino';
import { bananoGatewayFromConfig, type BananoGateway } from '../payouts/banano/banano-gateway';
import { ConfigError, envText, type LedgerConfig, loadConfig } from '../platform/config/config';
import { DomainError } from '../platform/errors/domain-error';
import { type Logger } from '../platform/logging/logger';
import { type Infrastructure, startInfrastructure } from '../platform/runtime/infrastructure';
import { escapeControlCharacters, escapeEachLine } from '../platform/text/control-characters';
import { operatorSeedSourceFromConfig } from '../security/secure-config/stored-operator-seed';

/*
 * `npm run cli -- <command>`: the operator's command line. Each command is one `program.command`
 * in src/cli.main.ts (or a register…Commands function of src/cli/) whose action goes through `withLedger`, which starts the same infrastructure the service
 * starts, from the same environment (DATABASE_URL or the embedded PostgreSQL under .data/,
 * EVENTSTORE_CONNECTION_STRING, BANANO_RPC_URL, LEDGER_MASTER_KEY, BANANO_OPERATOR_SEED_FILE), hands it to the
 * command, closes it again and exits with the code the command returned.
 *
 * Exit codes, the same for every command: 0 done (for a check: all is well), 2 a check found
 * something, 1 the command could not run (misconfiguration, a dependency down, a bad argument).
 * Output for scripts (`--json`) goes to stdout alone; logs and errors go to stderr. Nothing here
 * ever prints a secret: the operator seed, the master keys, API keys and BANANO_RPC_AUTH stay out of every line.
 */

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_FINDINGS = 2;

/** What a command works with. */
export interface LedgerContext {
  readonly config: LedgerConfig;
  readonly logger: Logger;
  readonly infrastructure: Infrastructure;
  /** The node and the operator seed; null in dry-run (no BANANO_RPC_URL). */
  readonly banano: BananoGateway | null;
}

/** A command's work: answers its exit code. */
export type LedgerCommand<Options> = (context: LedgerContext, options: Options) => Promise<number>;

/**
 * Logs go to stderr, so stdout carries only a command's output. A command line is quiet unless
 * asked: `warn` when LOG_LEVEL is not set.
 */
function cliLogger(config: LedgerConfig): Logger {
  const level = envText(process.env, 'LOG_LEVEL') === null ? 'warn' : config.logLevel;
  return pino(
    {
      name: 'ledger-cli',
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['seed', '*.seed', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'password', '*.password'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * Wraps a command: start the infrastructure, run it, close everything, exit with its code.
 *
 * SIGINT (Ctrl-C) or SIGTERM (`npm run cli` execs node, so one sent to npm arrives here) stops a
 * command at once, as a killed process, exit 128+signal, but not before the embedded PostgreSQL
 * it started is shut down: left running, it would hold the data directory until the next start
 * found it orphaned. A second signal leaves at once. A command that stops on the signal itself,
 * keeping its work (`events tail`, `projections rebuild`), says so with `ownSignals`.
 *
 * A command that must not be stopped half way (`secure-config rotate`) names, in `finishOnSignal`,
 * what it tells the operator instead: once it runs, every signal writes that line and the command
 * ends as it would have, with its own output and exit code. Its steps are bounded (statement and
 * event store timeouts). A signal during the start-up, before it has done anything, still stops it.
 *
 * `check` judges the arguments before anything starts: a mistyped one is refused at once, not
 * after the embedded PostgreSQL has started and the migrations have run, and not hidden behind the
 * error of a database that cannot be reached. The command judges them again as it reads them.
 */
export function withLedger<Options>(
  command: LedgerCommand<Options>,
  handling: { ownSignals?: boolean; finishOnSignal?: string; check?: (options: Options) => unknown } = {},
): (options: Options) => Promise<void> {
  return async (options) => {
    let started: Promise<Infrastructure> | undefined;
    let interrupted: Promise<never> | undefined;
    let running = false;
    // A signal during the start-up ends a wait for a service's embedded PostgreSQL at once.
    const startUp = new AbortController();
    if (handling.ownSignals !== true) {
      const onSignal = (signal: NodeJS.Signals): void => {
        if (running && handling.finishOnSignal !== undefined) {
          // Armed again: every later signal is answered the same way, none stops the command.
          process.once(signal, onSignal);
          void write(process.stderr, `\n${signal}: ${handling.finishOnSignal}\n`);
          return;
        }
        startUp.abort(new Error(`${signal} during the start-up`));
        interrupted ??= stopOnSignal(signal, started);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    let code: number;
    try {
      handling.check?.(options);
      const config = loadConfig();
      const logger = cliLogger(config);
      // Beside a running service on the embedded defaults, its PostgreSQL is used, not a second one.
      started = startInfrastructure(config, logger, { shareEmbedded: true, signal: startUp.signal });
      const infrastructure = await started;
      try {
        const banano = bananoGatewayFromConfig(config, operatorSeedSourceFromConfig(config, infrastructure.pool));
        // Stopping already (a signal during the start-up): the command does not begin at all.
        if (interrupted !== undefined) await interrupted;
        running = true;
        code = await command({ config, logger, infrastructure, banano }, options);
      } finally {
        await infrastructure.close();
      }
    } catch (error) {
      // A command cut short by the signal fails as its database goes away: that is no error of its own.
      if (interrupted === undefined) await write(process.stderr, `error: ${describe(error)}\n`);
      code = EXIT_ERROR;
    }
    if (interrupted !== undefined) await interrupted;
    // A one-shot process: nothing left running may hold the exit back.
    process.exit(code);
  };
}

async function stopOnSignal(signal: NodeJS.Signals, started: Promise<Infrastructure> | undefined): Promise<never> {
  await write(process.stderr, `\n${signal}: stopped\n`);
  // Still starting: the start-up finishes first (a migration in progress included), then stops.
  const infrastructure = await started?.catch(() => null);
  // Only one this command started: the PostgreSQL of a running service it shares goes on.
  await infrastructure?.embedded?.stop().catch(() => undefined);
  process.exit(128 + constants.signals[signal]);
}

/**
 * The parser of an option that takes one value: given twice, it is refused, where commander would
 * keep the last one silently (`--scopes admin --scopes queries:read` made a key of queries:read
 * alone). The values are not quoted: either may be a key pasted in the wrong place.
 */
export function once(flag: string): (value: string, previous: string | undefined) => string {
  return (value, previous) => {
    if (previous !== undefined) throw new DomainError('option_repeated', `${flag} is given twice; give it once`, 400);
    return value;
  };
}

/**
 * The error as the operator reads it. Its message may quote what was typed, and a value pasted
 * from a log can carry a terminal's control sequences (clear the screen, set the title, recolour):
 * each control character is printed escaped (`\u001b`, `\n`), and a refusal stays one line.
 */
export function describe(error: unknown): string {
  if (error instanceof DomainError) return `${error.code}: ${escapeControlCharacters(error.message)}`;
  if (error instanceof ConfigError) return ['misconfiguration:', ...error.problems.map((problem) => `  - ${escapeControlCharacters(problem)}`)].join('\n');
  if (error instanceof Error) return envText(process.env, 'LOG_LEVEL') === 'debug' ? escapeEachLine(error.stack ?? error.message) : escapeControlCharacters(error.message);
  return escapeControlCharacters(String(error));
}

export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(text, (error) => (error ? reject(error) : resolve())));
}

