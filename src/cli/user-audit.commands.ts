import { type Command } from 'commander';
import { defaultPayoutSettings } from '../admin/faucet-config/faucet-settings';
import { DomainError } from '../platform/errors/domain-error';
import { type EventStore } from '../platform/event-store/event-store.port';
import { POSITION_MAX } from '../platform/http/paging';
import { type HistoryCut, parseCut } from '../identity/user-audit/as-of-cut';
import { auditEntryJson, readUserAuditTrail, resolveUserRef } from '../identity/user-audit/user-audit-trail';
import { formatAuditTrail, formatUserAsOf } from '../identity/user-audit/user-audit.format';
import { type UserAsOfView, userStatusAsOf } from '../identity/user-audit/user-status-as-of';
import { type PayoutSettings } from '../admin/faucet-config/faucet-config.events';
import { EXIT_OK, type LedgerCommand, withLedger, write } from './ledger-command';

/*
 * `audit user <userId|discordId>` and `as-of <time|position> user <userId|discordId>`: a user's
 * history and status read from the event store itself, never from the read models, so they show
 * exactly what was recorded (and work while the projector is behind or stopped).
 */

function userIdOf(reference: string): string {
  const userId = resolveUserRef(reference);
  if (userId === null) throw new DomainError('invalid_user_id', `${reference} is neither a user id (UUID) nor a Discord id (17 to 20 digits)`);
  return userId;
}

/** The audit trail as text or JSON; what the command prints, for tests to call without a process. */
export async function userAuditOutput(store: EventStore, reference: string, options: { readonly json?: boolean }): Promise<string> {
  const userId = userIdOf(reference);
  const entries = await readUserAuditTrail(store, userId);
  return options.json === true ? `${JSON.stringify(entries.map(auditEntryJson), null, 2)}\n` : formatAuditTrail(userId, entries);
}

/**
 * The status at `<when>`: digits are a position of `$all` (events at or before it), anything else
 * an ISO-8601 date and time with a zone (events recorded at or before it; not in the future).
 */
export async function userAsOf(store: EventStore, when: string, reference: string, payoutDefaults: PayoutSettings, now = new Date()): Promise<UserAsOfView> {
  return userStatusAsOf(store, userIdOf(reference), cutOf(when, now), payoutDefaults);
}

function cutOf(when: string, now: Date): HistoryCut {
  const cut = parseCut(when);
  if (cut === null) {
    throw new DomainError(
      'invalid_as_of',
      `${when} is neither a position (digits, at most ${POSITION_MAX.toString()}) nor an ISO-8601 date and time with a zone, from 1970 to 9999, such as 2026-05-01T12:00:00Z`,
    );
  }
  if (cut.kind === 'time' && cut.at.getTime() > now.getTime()) throw new DomainError('as_of_in_future', `${when} is in the future`);
  return cut;
}

interface AsOfOptions {
  readonly when: string;
  readonly subject: string;
  readonly user: string;
  readonly json?: boolean;
}

/** The arguments of `as-of`: the subject, then the cut, then the user. */
function checkAsOf(options: AsOfOptions): void {
  if (options.subject !== 'user') throw new DomainError('invalid_as_of_subject', `as-of answers for a user: as-of <when> user <userId> (got ${options.subject})`);
  cutOf(options.when, new Date());
  userIdOf(options.user);
}

const auditUserCommand: LedgerCommand<{ user: string; json?: boolean }> = async (context, options) => {
  await write(process.stdout, await userAuditOutput(context.infrastructure.eventStore, options.user, options));
  return EXIT_OK;
};

const asOfCommand: LedgerCommand<AsOfOptions> = async (context, options) => {
  checkAsOf(options);
  const view = await userAsOf(context.infrastructure.eventStore, options.when, options.user, defaultPayoutSettings(context.config));
  await write(process.stdout, options.json === true ? `${JSON.stringify(view, null, 2)}\n` : formatUserAsOf(view));
  return EXIT_OK;
};

export function registerUserAuditCommands(program: Command): void {
  const audit = program.command('audit').description("Audit trails read from the event store itself.");
  audit
    .command('user')
    .description("A user's events in order, one line each (time, revision @position, type, what it says) with the balances after it: accrued, in flight, settled/paid, unsettled.")
    .argument('<user>', 'user id (UUID) or Discord id')
    .option('--json', 'an array of {position, revision, type, recordedAt, actor, data, balances}; amounts as …Raw / …Ban strings')
    .addHelpText('after', '\nExit codes: 0 printed, 1 error (no such user: user_not_found).')
    .action((user: string, options: { json?: boolean }) => withLedger(auditUserCommand, { check: () => userIdOf(user) })({ user, ...options }));

  program
    .command('as-of')
    .description(
      "A user's status (GET /v1/users/:userId's shape) as it was: folded from the user's events recorded at or before <when>. " +
        '<when> is a position of $all (digits; events at or before it) or an ISO-8601 date and time with a zone.',
    )
    .argument('<when>', 'a position, or a time such as 2026-05-01T12:00:00Z (not in the future)')
    .argument('<subject>', 'user')
    .argument('<user>', 'user id (UUID) or Discord id')
    .option('--json', 'as JSON, with asOf and the position of the last event included')
    .addHelpText('after', '\nExit codes: 0 printed, 1 error (no events of the user by then: user_not_found).')
    .action((when: string, subject: string, user: string, options: { json?: boolean }) => withLedger(asOfCommand, { check: checkAsOf })({ when, subject, user, ...options }));
}
