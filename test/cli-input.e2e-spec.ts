import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { sql } from 'slonik';
import { z } from 'zod';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { childEnv, startBuiltEntry, waitForExit } from './support/processes';
import { useDatabaseWithStore } from './support/test-database';

/**
 * `npm run cli -- …` given what an operator mistypes: the built CLI, as it is run, on a database of
 * its own holding one user's events. A mistake is one line on stderr, exit 1, no stack trace, and
 * nothing written.
 */
describe('the operator CLI given bad input', () => {
  const suite = useDatabaseWithStore();

  beforeAll(async () => {
    const userId = randomUUID();
    await runUserCommand(
      suite.store,
      userId,
      { type: 'RegisterUser', data: { userId, discordUserId: '123456789012345678', regionCode: null, now: new Date() } },
      { correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'cli-input-test' } },
    );
  });

  const cli = async (args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> => {
    const run = startBuiltEntry('cli.main.js', childEnv({ DATABASE_URL: suite.database.url, ...env }), args);
    const { code } = await waitForExit(run.child, 60_000);
    return { code, output: run.output() };
  };

  /** What a refused command must leave as it was: the events, the keys, any rebuild in progress. */
  const state = (): Promise<unknown> =>
    suite.pool.one(sql.type(z.object({ head: z.string().nullable(), keys: z.string().nullable(), shadows: z.number() }))`
      SELECT (SELECT max(global_position)::text FROM events) AS head,
             (SELECT string_agg(name || ':' || array_to_string(scopes, ','), ' ' ORDER BY name) FROM api_keys) AS keys,
             (SELECT count(*)::int FROM information_schema.tables WHERE table_schema = 'projection_rebuild') AS shadows`);

  const refusal = (output: string): string[] => output.trim().split('\n');

  it('refuses an option given twice rather than keep the last one silently', async () => {
    const before = await state();
    const cases: Array<[string[], string]> = [
      [['api-keys', 'create', '--name', 'twice', '--scopes', 'admin', '--scopes', 'queries:read'], '--scopes'],
      [['api-keys', 'create', '--name', 'one', '--name', 'two', '--scopes', 'admin'], '--name'],
      [['events', 'tail', '--from', '0', '--from', '5', '--no-follow'], '--from'],
      [['events', 'tail', '--limit', '1', '--limit', '3', '--no-follow'], '--limit'],
      [['projections', 'rebuild', 'users', '--batch-size', '10', '--batch-size', '20'], '--batch-size'],
    ];
    for (const [args, option] of cases) {
      const answer = await cli(args);
      expect([args.join(' '), answer.code, refusal(answer.output)]).toEqual([
        args.join(' '),
        1,
        [`error: option_repeated: ${option} is given twice; give it once`],
      ]);
    }
    expect(await state()).toEqual(before);
  });

  it('refuses a --batch-size above 10000, or not in digits, before it starts a rebuild, not with a database error after', async () => {
    const before = await state();
    for (const args of [
      ['projections', 'rebuild', 'users', '--batch-size', '2147483648'],
      ['projections', 'rebuild', '--batch-size', '9007199254740991'],
      ['projections', 'verify', '--batch-size', '10001'],
      ['projections', 'rebuild', 'users', '--batch-size', '0x10'],
    ]) {
      const answer = await cli(args);
      expect([args.join(' '), answer.code, refusal(answer.output)]).toEqual([
        args.join(' '),
        1,
        [`error: invalid_option: --batch-size must be a whole number from 1 to 10000 (got ${args[args.length - 1]})`],
      ]);
    }
    // No interrupted rebuild is left behind for `projections status` to offer to resume.
    expect(await state()).toEqual(before);
  });

  /**
   * A TCP server that is no PostgreSQL: it reads the client's first message and hangs up, or holds
   * the connection and says nothing. It hangs up once the client's first message is in: one that
   * hung up on connect answered that message, when it came after the close, with a reset, and pg
   * then said `read ECONNRESET` instead of `Connection terminated unexpectedly` (seen once in CI).
   */
  async function notPostgres(answer: 'hang up' | 'silence', work: (port: number, connections: () => number) => Promise<void>): Promise<void> {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      if (answer === 'hang up') socket.once('data', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await work((server.address() as { port: number }).port, () => sockets.length);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('refuses a bad argument before it connects to any database', async () => {
    const userId = randomUUID();
    const cases: Array<[string[], string]> = [
      [['api-keys', 'create', '--name', 'ops', '--scopes', 'admin,root'], 'invalid_api_key_scopes'],
      [['api-keys', 'create', '--name', 'ops', '--scopes', 'admin', '--expires-at', 'tomorrow'], 'invalid_api_key_expiry'],
      [['events', 'tail', '--category', 'user!', '--no-follow'], 'invalid_category'],
      [['events', 'tail', '--category', 'user,users', '--no-follow'], 'invalid_category'],
      [['events', 'tail', '--from', 'head', '--no-follow'], 'invalid_from'],
      [['events', 'tail', '--limit', '0', '--no-follow'], 'invalid_limit'],
      [['audit', 'user', 'nobody'], 'invalid_user_id'],
      [['as-of', 'yesterday', 'user', userId], 'invalid_as_of'],
      [['as-of', '9999-01-01T00:00:00Z', 'user', userId], 'as_of_in_future'],
      [['as-of', '5', 'payout', userId], 'invalid_as_of_subject'],
      [['as-of', '5', 'user', 'nobody'], 'invalid_user_id'],
      [['projections', 'rebuild', 'userz'], 'unknown_projection'],
      [['projections', 'rebuild', '--batch-size', '0'], 'invalid_option'],
      [['projections', 'verify', '--batch-size', '10001'], 'invalid_option'],
      [['projections', 'verify', '--show', 'all'], 'invalid_option'],
    ];
    // A server that hangs up on every connection: a command that connected first would fail with
    // the database's error, not its argument's, and the server would count the connection.
    await notPostgres('hang up', async (port, connections) => {
      for (const [args, code] of cases) {
        const run = await cli(args, { DATABASE_URL: `postgres://ledger@127.0.0.1:${port}/ledger` });
        expect([args.join(' '), run.code, refusal(run.output).length, refusal(run.output)[0].startsWith(`error: ${code}: `)]).toEqual([args.join(' '), 1, 1, true]);
      }
      expect(connections()).toBe(0);
    });
  });

  it('tails the categories the ledger writes, and refuses one it does not, naming them', async () => {
    const known = await cli(['events', 'tail', '--category', 'user,operator', '--category', 'settlement,faucet,secure', '--from', '0', '--no-follow']);
    expect([known.code, refusal(known.output).filter((line) => line.includes('UserRegistered')).length]).toEqual([0, 1]);

    const unknown = await cli(['events', 'tail', '--category', 'users', '--from', '0', '--no-follow']);
    expect([unknown.code, refusal(unknown.output)]).toEqual([
      1,
      ['error: invalid_category: --category users is not a stream category; they are user, operator, settlement, faucet, secure'],
    ]);
  });

  it('states the bound a number went past', async () => {
    const cases: Array<[string[], string]> = [
      [['events', 'tail', '--limit', '9999999999', '--no-follow'], 'error: invalid_limit: --limit 9999999999 is not a whole number from 1 to 999999999'],
      [['events', 'tail', '--from', '9223372036854775808', '--no-follow'], 'error: invalid_from: --from 9223372036854775808 is not a position (digits, at most 9223372036854775807)'],
      [['as-of', '9223372036854775808', 'user', randomUUID()], 'error: invalid_as_of: 9223372036854775808 is neither a position (digits, at most 9223372036854775807) nor'],
    ];
    for (const [args, first] of cases) {
      const run = await cli(args);
      expect([run.code, refusal(run.output).length, refusal(run.output)[0].slice(0, first.length)]).toEqual([1, 1, first]);
    }
  });

  it('refuses an argument to npm run migrate, which takes none, before it migrates anything', async () => {
    await notPostgres('hang up', async (port, connections) => {
      const run = startBuiltEntry('migrate.main.js', childEnv({ DATABASE_URL: `postgres://ledger@127.0.0.1:${port}/ledger` }), ['--dry-run']);
      const { code } = await waitForExit(run.child, 60_000);
      expect([code, refusal(run.output())]).toEqual([1, ['error: npm run migrate takes no arguments (got --dry-run); it applies every pending migration']]);
      expect(connections()).toBe(0);
    });
  });

  it('echoes a bad argument with its control characters escaped, never raw to the terminal', async () => {
    // An id pasted from a log can carry a terminal's escape sequences (here: clear the screen, set
    // the window title); printed raw, they would act on the operator's terminal.
    const hostile = 'user\u001b[2J\u001b]0;owned\u0007\u009b31m\r\n';
    const escaped = 'user\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\r\\n';
    const cases: Array<[string[], string]> = [
      [['audit', 'user', hostile], `error: invalid_user_id: ${escaped} is neither`],
      [['as-of', hostile, 'user', randomUUID()], `error: invalid_as_of: ${escaped} is neither`],
      [['events', 'tail', '--from', hostile, '--no-follow'], `error: invalid_from: --from ${escaped} is not`],
      // commander's own refusal, followed by the command's usage: escaped line by line, so a line
      // break typed stays one (harmless); the rest is escaped.
      [['audit', hostile], `error: unknown command '${escaped.replace(/\\n$/, '')}`],
    ];
    for (const [args, first] of cases) {
      const run = await cli(args);
      expect([run.code, refusal(run.output)[0].slice(0, first.length)]).toEqual([1, first]);
      expect(run.output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    }
  });

  it.each([['hang up' as const, 'Connection terminated unexpectedly'], ['silence' as const, 'timeout expired']])(
    'names DATABASE_URL, never its password, when the server there will not talk PostgreSQL (%s)',
    async (answer, why) => {
      await notPostgres(answer, async (port) => {
        const run = await cli(['journal'], { DATABASE_URL: `postgres://ledger:hunter2secret@127.0.0.1:${port}/ledger` });
        expect([run.code, refusal(run.output)]).toEqual([
          1,
          [`error: the PostgreSQL of DATABASE_URL (127.0.0.1:${port}/ledger) cannot be used: ${why}. Check DATABASE_URL, or leave it unset for the embedded PostgreSQL.`],
        ]);
        expect(run.output).not.toContain('hunter2secret');
      });
    },
  );
});
