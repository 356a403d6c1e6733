import 'reflect-metadata';
import { Command } from 'commander';
import { describe, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, type LedgerCommand, once, withLedger, write } from './cli/ledger-command';
import { registerEventCommands } from './cli/events.commands';
import { registerProjectionCommands } from './cli/projections.commands';
import { registerUserAuditCommands } from './cli/user-audit.commands';
import { DomainError } from './platform/errors/domain-error';
import { instantMessage, parseInstant } from './platform/http/instant';
import { escapeEachLine } from './platform/text/control-characters';
import { API_KEY_NAME, API_KEY_SCOPES, type ApiKeyRecord, ApiKeys, type ApiKeyScope, isApiKeyScope, looksLikeApiKey } from './security/api-keys';
import { formatRotation, rotateSecureConfig, type RotationKeyOptions, rotationKeys } from './security/secure-config/rotate-master-key';
import { SecureConfigEntries, SecureConfigStore } from './security/secure-config/secure-config.store';
import { operatorSeedStatus } from './security/secure-config/stored-operator-seed';
import { FileOperatorSeedSource } from './payouts/operator/operator-seed';
import { formatJournalReport, journalReport } from './treasury/journal/journal-balances';
import { reconcile } from './treasury/reconciliation/reconcile';
import { formatReconciliationReport } from './treasury/reconciliation/reconciliation.format';

// `npm run cli -- <command>`: see src/cli/ledger-command.ts for what every command shares (the
// infrastructure, exit codes, where output and logs go).

const reconcileCommand: LedgerCommand<{ json?: boolean }> = async (context, options) => {
  const report = await reconcile({
    store: context.infrastructure.eventStore,
    pool: context.infrastructure.pool,
    banano: context.banano,
    dryRunBalanceRaw: context.config.banano.dryRunBalanceRaw,
  });
  await write(process.stdout, options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReconciliationReport(report));
  return report.inBalance ? EXIT_OK : EXIT_FINDINGS;
};

const journalCommand: LedgerCommand<{ json?: boolean }> = async (context, options) => {
  const report = await journalReport(context.infrastructure.pool);
  await write(process.stdout, options.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatJournalReport(report));
  return report.trialBalanceRaw === '0' && report.unbalancedEntries.length === 0 ? EXIT_OK : EXIT_FINDINGS;
};

interface CreateKeyOptions {
  readonly name: string;
  readonly scopes: string;
  readonly expiresAt?: string;
}

/** The scopes and expiry of `api-keys create`, as typed; an unknown scope or a bad time is refused. */
function keyOptionsOf(options: CreateKeyOptions): { scopes: ApiKeyScope[]; expiresAt: Date | null } {
  const scopes = options.scopes.split(',').map((scope) => scope.trim()).filter((scope) => scope !== '');
  const unknown = scopes.filter((scope) => !isApiKeyScope(scope));
  if (unknown.length > 0) throw new DomainError('invalid_api_key_scopes', `Unknown scope ${unknown.join(', ')}; the scopes are ${API_KEY_SCOPES.join(', ')}`);
  const expiresAt = options.expiresAt === undefined ? null : parseInstant(options.expiresAt);
  if (options.expiresAt !== undefined && expiresAt === null) throw new DomainError('invalid_api_key_expiry', `${instantMessage('--expires-at')} (got ${options.expiresAt})`);
  return { scopes: scopes.filter(isApiKeyScope), expiresAt };
}

const createKeyCommand: LedgerCommand<CreateKeyOptions> = async (context, options) => {
  const { scopes, expiresAt } = keyOptionsOf(options);
  const { key, record } = await new ApiKeys(context.infrastructure.pool).create({ name: options.name, scopes, expiresAt });
  // The key is shown this once and stored only as its hash: the last line is the key alone.
  await write(
    process.stdout,
    `Created API key ${record.name} with ${record.scopes.join(', ')}${record.expiresAt === null ? '' : `, expiring ${record.expiresAt.toISOString()}`}.\n` +
      'It is shown only now; store it somewhere safe.\n' +
      `${key}\n`,
  );
  return EXIT_OK;
};

const listKeysCommand: LedgerCommand<{ json?: boolean }> = async (context, options) => {
  const keys = await new ApiKeys(context.infrastructure.pool).list();
  const now = Date.now();
  const stateOf = (key: ApiKeyRecord): string =>
    key.revokedAt !== null ? 'revoked' : key.expiresAt !== null && key.expiresAt.getTime() <= now ? 'expired' : 'active';
  if (options.json === true) {
    await write(process.stdout, `${JSON.stringify(keys.map((key) => ({ ...key, state: stateOf(key) })), null, 2)}\n`);
    return EXIT_OK;
  }
  const lines = keys.map(
    (key) =>
      `${key.name.padEnd(24)} ${stateOf(key).padEnd(8)} ${key.scopes.join(',').padEnd(36)} created ${key.createdAt.toISOString()}` +
      `${key.expiresAt === null ? '' : `, expires ${key.expiresAt.toISOString()}`}${key.revokedAt === null ? '' : `, revoked ${key.revokedAt.toISOString()}`}`,
  );
  await write(process.stdout, lines.length === 0 ? 'No API keys.\n' : `${lines.join('\n')}\n`);
  return EXIT_OK;
};

/** Revokes a key by its name, or by the key itself (a leaked key in hand), which is never echoed. */
const revokeKeyCommand: LedgerCommand<{ name: string }> = async (context, options) => {
  const keys = new ApiKeys(context.infrastructure.pool);
  let name: string | null = options.name;
  if (looksLikeApiKey(options.name)) {
    name = (await keys.revokeKey(options.name)) ?? ((await keys.revoke(options.name)) ? options.name : null);
    if (name === null) throw new DomainError('api_key_not_found', 'No API key is that key or has that name (not shown)', 404);
  } else if (!(await keys.revoke(options.name))) {
    // Only a key name is quoted: anything else may be a key pasted in another form (`Bearer p2s_…`).
    const what = API_KEY_NAME.test(options.name) ? `named ${options.name}` : 'named what was given (not shown: it is no key name)';
    throw new DomainError('api_key_not_found', `No API key is ${what}`, 404);
  }
  await write(process.stdout, `Revoked API key ${name}: it opens nothing from now on.\n`);
  return EXIT_OK;
};

const secureConfigStatusCommand: LedgerCommand<Record<string, never>> = async (context) => {
  const file = context.config.banano.operatorSeedFile;
  const status = await operatorSeedStatus(new SecureConfigEntries(context.infrastructure.pool), file === null ? null : new FileOperatorSeedSource(file));
  await write(process.stdout, `${JSON.stringify(status)}\n`);
  return EXIT_OK;
};

const secureConfigRotateCommand: LedgerCommand<RotationKeyOptions> = async (context, options) => {
  const keys = await rotationKeys(options, context.config, process.env);
  const result = await rotateSecureConfig(new SecureConfigStore(context.infrastructure.pool, context.infrastructure.eventStore), keys);
  await write(process.stdout, formatRotation(result, keys));
  return EXIT_OK;
};

export function buildProgram(): Command {
  const program = new Command('npm run cli --')
    .description('Pay2Slay Ledger operator commands. They use the same environment as the service.')
    .showHelpAfterError()
    // commander's own refusals quote what was typed (`unknown command '…'`): escaped as ours are.
    .configureOutput({ outputError: (text, write) => write(escapeEachLine(text)) })
    .addHelpText(
      'after',
      [
        '',
        'Environment (as for npm start): DATABASE_URL (else the embedded PostgreSQL under .data/, the',
        "running service's when it runs), EVENTSTORE_CONNECTION_STRING, BANANO_RPC_URL,",
        'LEDGER_MASTER_KEY, BANANO_OPERATOR_SEED_FILE, LOG_LEVEL (default warn here; logs go to stderr).',
        '',
        'Exit codes: 0 done / all is well, 2 a check found differences, 1 the command could not run.',
      ].join('\n'),
    );

  program
    .command('reconcile')
    .description(
      'Reconcile the ledger with the chain: the operator wallet as the events count it against the node ' +
        '(balance, frontier, every block, receivable sends); in dry-run, the events against the simulated balance.',
    )
    .option('--json', 'print the report as JSON (amounts as …Raw / …Ban strings)')
    .addHelpText('after', '\nExit codes: 0 in balance, 2 differences found, 1 error (node unavailable, seed missing or unreadable, …).')
    .action(withLedger(reconcileCommand));

  const apiKeys = program.command('api-keys').description('Issue, list and revoke API keys (stored as SHA-256 hashes; a key is shown once).');
  apiKeys
    .command('create')
    .description('Create a key and print it, alone, on the last line of output.')
    .requiredOption('--name <name>', 'a unique name, a-z 0-9 . _ - (never reused, even after a revoke)', once('--name'))
    .requiredOption('--scopes <list>', `comma list of ${API_KEY_SCOPES.join(', ')}`, once('--scopes'))
    .option('--expires-at <time>', 'ISO-8601 time with a zone after which the key opens nothing', once('--expires-at'))
    .action(withLedger(createKeyCommand, { check: keyOptionsOf }));
  apiKeys.command('list').description('Every key: name, state, scopes, times (never the key).').option('--json', 'as JSON').action(withLedger(listKeysCommand));
  apiKeys
    .command('revoke')
    .description('Revoke the key named <name>, or the key itself given in its place (it is never printed).')
    .argument('<name>')
    .action((name: string) => withLedger(revokeKeyCommand)({ name }));

  const secureConfig = program.command('secure-config').description('The encrypted secure_config entries (the operator seed): status and master key rotation.');
  secureConfig
    .command('status')
    .description('Print {configured, address, keyId} of the operator seed as JSON: its address and master key id, never the seed.')
    .action(() => withLedger(secureConfigStatusCommand)({}));
  secureConfig
    .command('rotate')
    .description(
      'Re-encrypt every secure_config entry under a new master key, in one transaction; refused, changing nothing, when the old key ' +
        'does not decrypt an entry. Records SecureConfigChanged "rotated" (actor admin cli). Keys are read from files or the ' +
        'environment, never from arguments (which ps shows).',
    )
    .option('--old-key-file <path>', 'file holding the old key (default: LEDGER_MASTER_KEY, else <dataDir>/master.key on the embedded defaults)', once('--old-key-file'))
    .option('--new-key-file <path>', 'file holding the new key, base64 of 32 bytes (default: LEDGER_NEW_MASTER_KEY); make one with openssl rand -base64 32', once('--new-key-file'))
    .addHelpText('after', '\nAfterwards give the services the new key (LEDGER_MASTER_KEY) and restart them.\nExit codes: 0 rotated, 1 refused or error.')
    // Stopped after its commit, it would say only "stopped", and the new key, the only one that
    // then opens the seed, could be thrown away as if nothing had changed.
    .action(
      withLedger(secureConfigRotateCommand, {
        finishOnSignal: 'a rotation is not stopped half way; it ends shortly and says what it did (keep both keys until then)',
      }),
    );

  program
    .command('journal')
    .description('The double-entry books: the derived balances (operator wallet, rewards expense, payable, in flight, donations, funding) and the trial balance.')
    .option('--json', 'print the balances as JSON (amounts as raw / ban strings)')
    .addHelpText('after', '\nExit codes: 0 the trial balance is 0, 2 it is not (or an entry does not balance), 1 error.')
    .action(withLedger(journalCommand));

  registerUserAuditCommands(program);
  registerEventCommands(program);
  registerProjectionCommands(program);

  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch(async (error: unknown) => {
      await write(process.stderr, `error: ${describe(error)}\n`);
      process.exit(EXIT_ERROR);
    });
}
