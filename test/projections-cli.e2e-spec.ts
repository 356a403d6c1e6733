import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { sql } from 'slonik';
import { z } from 'zod';
import { allProjections, type Projection } from '../projections';
import { rebuildProjections } from '../projections/runtime/rebuild';
import { REBUILD_SCHEMA } from '../projections/runtime/shadow-schema';
import { formatStatus, projectionsStatus } from '../projections/runtime/status';
import { formatVerifyReport, verifyProjections, type VerifyReport } from '../projections/runtime/verify';
import { ProgressBars, registerProjectionCommands, selectProjections } from '../src/cli/projections.commands';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { toStreamName } from '../src/identity/user/user.stream';
import { type EventMetadata } from '../src/platform/event-store/event-store.port';
import { type BananoNodeDouble } from './doubles/banano-node.double';
import { call, donateFrom, earner, newBananoAccount, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;

/**
 * `npm run cli -- projections rebuild|verify|status`, through the functions the commands call, in
 * this process, against a running app whose projector keeps projecting throughout.
 */
describe('projections rebuild, verify and status', () => {
  const metadata = (): EventMetadata => ({ correlationId: randomUUID(), causationId: null, actor: { kind: 'system', name: 'projections-test' }, schemaVersion: 1 });
  const verify = (app: TestApp, options: { batchSizeMax?: number } = {}): Promise<VerifyReport> => verifyProjections(app.pool, app.store, allProjections, options);
  const counted = z.object({ count: z.number(), sum: z.bigint() });

  /** A failed attempt with one attempt allowed: the payout is failed at once, so an admin may retry or cancel it. */
  async function failPayout(app: TestApp, userId: string, payoutId: string): Promise<void> {
    await runUserCommand(
      app.store,
      userId,
      {
        type: 'RecordPayoutAttemptFailed',
        data: { payoutId, attempt: 1, error: 'Block is invalid', blockHash: null, policy: { maxAttempts: 1, backoffBaseMs: 1_000, backoffMaxMs: 60_000 }, now: new Date() },
      },
      { correlationId: randomUUID(), causationId: payoutId, actor: { kind: 'system', name: 'payout-executor' } },
    );
  }

  describe('after a full flow on a live app', () => {
    const liveEnv = (node: BananoNodeDouble): Record<string, string> => ({
      BANANO_RPC_TIMEOUT_MS: '1000',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      PAYOUT_RETRY_BACKOFF_SECONDS: '0',
      PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0',
      TREASURY_FUNDING_ADDRESSES: node.genesisAddress,
    });

    /**
     * Funding, donations across a milestone, players, an abuse flag cleared, a config change, a
     * settlement paid on chain, then a second one whose payouts fail: one cancelled, one retried and sent.
     */
    async function fullFlow(app: TestApp, node: BananoNodeDouble, operatorAddress: string): Promise<{ userIds: string[]; flagId: string }> {
      await node.fund(operatorAddress, 500n * BAN);
      await donateFrom(node, await newBananoAccount(), operatorAddress, 60n * BAN);
      await donateFrom(node, await newBananoAccount(), operatorAddress, 60n * BAN);
      const ingester = app.workers.donationIngester;
      if (ingester === null) throw new Error('a live app has a donation ingester');
      expect(await ingester.runOnce()).toMatchObject({ recorded: 3, stoppedBy: null });
      expect((await call(app, 'PUT', '/v1/admin/config/payout', { dailyKillCap: 149, banPerKill: '0.07' })).status).toBe(200);
      const players = [await earner(app, 30), await earner(app, 12), await earner(app, 5)];
      const jump = await call(app, 'POST', `/v1/users/${players[2].userId}/kills`, { lifetimeKills: 900 });
      const flagId = (jump.body.flags as Array<{ flagId: string }>)[0].flagId;
      await synced(app);
      expect((await call(app, 'POST', `/v1/admin/abuse-flags/${flagId}/clear`, { reason: 'a real streak' })).status).toBe(200);
      // A run plans from the read models: until abuse_flags holds the clear, the third player is skipped.
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 3 });
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 3, failed: 0 });

      for (const [index, player] of players.slice(0, 2).entries()) {
        await call(app, 'POST', `/v1/users/${player.userId}/kills`, { lifetimeKills: 50 + index, observedAt: new Date(Date.now() - 60_000).toISOString() });
      }
      await synced(app);
      const second = await call(app, 'POST', '/v1/admin/settlements', {});
      const payouts = second.body.payouts as Array<{ payoutId: string; userId: string }>;
      expect(payouts).toHaveLength(2);
      for (const payout of payouts) await failPayout(app, payout.userId, payout.payoutId);
      await synced(app);
      expect((await call(app, 'POST', `/v1/admin/payouts/${payouts[0].payoutId}/cancel`, { reason: 'paid by hand' })).status).toBe(200);
      expect((await call(app, 'POST', `/v1/admin/payouts/${payouts[1].payoutId}/retry`)).status).toBe(200);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      return { userIds: players.map((player) => player.userId), flagId };
    }

    it('verify finds no difference and prints tables, rows, a checksum and its duration; tampered rows are named; a rebuild repairs them', async () => {
      await withLiveApp({ env: liveEnv }, async ({ app, node, operator }) => {
        const { userIds } = await fullFlow(app, node, operator.address);
        const tableCounts = await app.pool.one(sql.type(z.object({ donations: z.number(), milestones: z.number(), payouts: z.number(), entries: z.number(), audit: z.number() }))`
          SELECT (SELECT count(*)::int FROM donation_ledger) AS donations, (SELECT count(*)::int FROM milestones) AS milestones,
                 (SELECT count(*)::int FROM payouts) AS payouts, (SELECT count(*)::int FROM journal_entries) AS entries,
                 (SELECT count(*)::int FROM admin_audit) AS audit`);
        expect(tableCounts).toEqual({ donations: 3, milestones: 1, payouts: 5, entries: expect.any(Number), audit: expect.any(Number) });

        const clean = await verify(app);
        const text = formatVerifyReport(clean);
        process.stderr.write(`projections verify after the full flow: ${clean.durationMs} ms, ${clean.tables} tables, ${clean.rows} rows\n`);

        expect(clean.differences).toBe(0);
        expect(clean.tables).toBe(allProjections.flatMap((projection) => projection.tables).length);
        expect(clean.rows).toBeGreaterThan(30);
        expect(clean.checksum).toMatch(/^[0-9a-f]{32}$/);
        expect(text).toMatch(/^users +users +\d+ +3 {2}[0-9a-f]{32}$/m);
        expect(text).toContain(`Verified ${allProjections.length} projections, ${clean.tables} tables, ${clean.rows} rows`);
        expect(text).toContain(`checksum ${clean.checksum}`);
        expect(text).toContain(`the event store's head was ${String(await app.store.headPosition())}.`);
        expect(text).toMatch(/^verify took \d+\.\d\d s$/m);
        // Once more with batches of one: the rows do not depend on how the events were batched.
        expect((await verify(app, { batchSizeMax: 1 })).checksum).toBe(clean.checksum);

        // Given rows changed, removed and added behind the projections' back.
        const [tampered, unwalleted] = userIds;
        const address = await app.pool.oneFirst(sql.type(z.object({ address: z.string() }))`SELECT address FROM wallet_links WHERE user_id = ${unwalleted}`);
        const extraFlag = randomUUID();
        await app.pool.query(sql.unsafe`UPDATE users SET accrued_kill_count = 999 WHERE user_id = ${tampered}`);
        await app.pool.query(sql.unsafe`DELETE FROM wallet_links WHERE user_id = ${unwalleted}`);
        await app.pool.query(sql.unsafe`INSERT INTO abuse_flags (flag_id, user_id, flag_type, severity, detail, raised_at)
          VALUES (${extraFlag}, ${tampered}, 'kill_rate_spike', 'high', 'not from any event', now())`);
        // The journal is append-only: only someone who switches its triggers off can lose an entry.
        const lostEntry = await app.pool.oneFirst(sql.type(z.object({ entry_id: z.string() }))`
          SELECT entry_id FROM journal_entries WHERE user_id = ${tampered} AND event_type = 'AccrualRecorded' ORDER BY position DESC LIMIT 1`);
        await app.pool.transaction(async (transaction) => {
          await transaction.query(sql.unsafe`ALTER TABLE journal_postings DISABLE TRIGGER journal_postings_append_only`);
          await transaction.query(sql.unsafe`ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only`);
          await transaction.query(sql.unsafe`DELETE FROM journal_postings WHERE entry_id = ${lostEntry}`);
          await transaction.query(sql.unsafe`DELETE FROM journal_entries WHERE entry_id = ${lostEntry}`);
          await transaction.query(sql.unsafe`ALTER TABLE journal_postings ENABLE TRIGGER journal_postings_append_only`);
          await transaction.query(sql.unsafe`ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only`);
        });

        const dirty = await verify(app);
        const findings = formatVerifyReport(dirty);

        expect(dirty.differences).toBe(6);
        expect(findings).toContain(`users user_id=${tampered}: accrued_kill_count live 999, rebuilt 50`);
        expect(findings).toContain(`wallet_links user_id=${unwalleted}, address=${address}: missing from the live table (the rebuild has it)`);
        expect(findings).toContain(`abuse_flags flag_id=${extraFlag}: only in the live table (the events do not produce it)`);
        expect(findings).toContain(`journal_entries entry_id=${lostEntry}: missing from the live table (the rebuild has it): {`);
        expect(findings).toContain(`journal_postings entry_id=${lostEntry}, line=1: missing from the live table`);
        expect(findings).toContain(`journal_postings entry_id=${lostEntry}, line=2: missing from the live table`);
        expect(findings).toMatch(/^journal_postings \(projection journal, checkpoint \d+\): 2 rows differ from a rebuild$/m);
        expect(findings).toMatch(/^Verification FAILED: 6 differences in 5 of \d+ tables/m);
        expect(findings).toMatch(/^verify took \d+\.\d\d s$/m);

        // When the three are rebuilt, by projection or by table name.
        const rebuilt = await rebuildProjections(app.pool, app.store, selectProjections(['users', 'wallet_links', 'abuse_flags']));
        expect(rebuilt.map((result) => [result.name, result.outcome])).toEqual([
          ['users', 'rebuilt'],
          ['wallet_links', 'rebuilt'],
          ['abuse_flags', 'rebuilt'],
        ]);
        // The journal entirely under the swap's lock (no build pass before it): its deferred balance
        // triggers check the copies, not the live tables, which lack the entry.
        const journal = await rebuildProjections(app.pool, app.store, selectProjections(['journal']), { passesMax: 0 });
        expect(journal).toEqual([expect.objectContaining({ name: 'journal', outcome: 'rebuilt', eventsUnderLock: Number(journal[0].eventsApplied) })]);
        expect(journal[0].eventsUnderLock).toBeGreaterThan(10);
        expect((await verify(app)).checksum).toBe(clean.checksum);

        // And the live projector carries on from the swapped-in tables.
        const later = await earner(app, 8);
        await synced(app);
        expect(await app.pool.oneFirst(sql.type(z.object({ kills: z.bigint() }))`SELECT accrued_kill_count AS kills FROM users WHERE user_id = ${later.userId}`)).toBe(8n);
        expect((await verify(app)).differences).toBe(0);
      });
    }, 240_000);
  });

  describe('on a store of many users, with the projector running', () => {
    const USERS = 1_500;
    let app: TestApp;

    /** `count` users appended straight to the store: registered, linked and verified, three events each. */
    async function appendUsers(count: number): Promise<void> {
      const chunk = 25;
      for (let start = 0; start < count; start += chunk) {
        await Promise.all(
          Array.from({ length: Math.min(chunk, count - start) }, async () => {
            const userId = randomUUID();
            const at = new Date().toISOString();
            const epicAccountId = randomUUID().replace(/-/g, '');
            await app.store.appendToStream(
              toStreamName(userId),
              [
                { id: randomUUID(), type: 'UserRegistered', data: { userId, discordUserId: `bulk-${userId}`, regionCode: null, registeredAt: at }, metadata: metadata() },
                { id: randomUUID(), type: 'EpicAccountLinked', data: { userId, epicAccountId, baselineKills: 0, source: 'integration', linkedAt: at }, metadata: metadata() },
                {
                  id: randomUUID(),
                  type: 'VerificationRecorded',
                  data: { userId, source: 'integration', status: 'ok', epicAccountId, detail: null, verifiedAt: at },
                  metadata: metadata(),
                },
              ],
              { expectedRevision: 'no_stream' },
            );
          }),
        );
      }
    }

    const usersTable = (): Promise<{ count: number; sum: bigint }> =>
      app.pool.one(sql.type(counted)`SELECT count(*)::int AS count, coalesce(sum(accrued_kill_count), 0)::bigint AS sum FROM users`);

    beforeAll(async () => {
      app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
      await appendUsers(USERS);
      await synced(app, 180_000);
    }, 300_000);

    afterAll(async () => {
      await app?.close();
    });

    it('rebuild swaps every table in while queries run: each query sees the whole old table or the whole new one, never a partial one', async () => {
      // Given a users table that differs from what the events give: every count is 7, the rebuild's 0.
      await app.pool.query(sql.unsafe`UPDATE users SET accrued_kill_count = 7`);
      const old = await usersTable();
      expect(old).toEqual({ count: USERS, sum: 7n * BigInt(USERS) });

      const seen: Array<{ count: number; sum: bigint }> = [];
      let querying = true;
      const readers = Array.from({ length: 3 }, async () => {
        while (querying) seen.push(await usersTable());
      });
      // More users arrive while the rebuild runs: the swap's catch-up and the projector after it take them.
      const arriving = appendUsers(100);
      const stderr = new PassThrough();
      let progressText = '';
      stderr.on('data', (chunk: Buffer) => (progressText += chunk.toString()));

      let results: Awaited<ReturnType<typeof rebuildProjections>>;
      let after: { count: number; sum: bigint };
      try {
        results = await rebuildProjections(app.pool, app.store, allProjections, { batchSizeMax: 200, progress: new ProgressBars(stderr as unknown as NodeJS.WriteStream) });
        await arriving;
        await synced(app, 180_000);
        after = await usersTable();
      } finally {
        querying = false;
        await Promise.allSettled([...readers, arriving]);
      }

      expect(results.map((result) => result.outcome)).toEqual(allProjections.map(() => 'rebuilt'));
      expect(after).toEqual({ count: USERS + 100, sum: 0n });
      const partial = seen.filter((table) => table.count < USERS || (table.sum !== 0n && table.sum !== 7n * BigInt(USERS)));
      expect(partial).toEqual([]);
      expect(seen.some((table) => table.sum === 7n * BigInt(USERS))).toBe(true);
      expect(seen.some((table) => table.sum === 0n)).toBe(true);
      expect(seen.length).toBeGreaterThan(20);
      expect(progressText).toMatch(/users +[█░]+ 100% \| \d+ events \| \d+ events\/s \| ETA/);
      // The swap kept every index, constraint and trigger under its name (the journal's append-only trigger too).
      const names = await app.pool.anyFirst(sql.type(z.object({ name: z.string() }))`
        SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('payouts', 'journal_entries')
        UNION ALL SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.journal_entries'::regclass AND NOT tgisinternal ORDER BY 1`);
      expect(names).toEqual([
        'journal_entries_append_only',
        'journal_entries_balanced',
        'journal_entries_payout_event_idx',
        'journal_entries_pkey',
        'journal_entries_position_idx',
        'journal_entries_reverses_idx',
        'journal_entries_user_idx',
        'payouts_feed_time_idx',
        'payouts_live_idempotency_key_idx',
        'payouts_pending_idx',
        'payouts_pkey',
        'payouts_user_position_idx',
      ]);
      expect((await verify(app)).differences).toBe(0);
      // A rebuild, a catch-up and a verify: more than jest's default minute on a busy machine.
    }, 300_000);

    it('an interrupted rebuild leaves the live tables alone, shows in status, and resumes where it stopped', async () => {
      await app.pool.query(sql.unsafe`UPDATE users SET accrued_kill_count = 7`);
      const controller = new AbortController();
      let batches = 0;
      const [users] = selectProjections(['users']);

      const interrupted = await rebuildProjections(app.pool, app.store, [users], {
        batchSizeMax: 100,
        signal: controller.signal,
        progress: {
          start: () => undefined,
          update: () => {
            batches += 1;
            if (batches === 5) controller.abort();
          },
          stop: () => undefined,
        },
      });

      expect(interrupted).toEqual([expect.objectContaining({ name: 'users', outcome: 'interrupted', resumedFrom: null, eventsThisRun: 500 })]);
      const stoppedAt = interrupted[0].position;
      expect((await usersTable()).sum).toBe(7n * BigInt(USERS + 100));
      const status = await projectionsStatus(app.pool, app.store, allProjections);
      expect(status.projections.find((line) => line.name === 'users')?.rebuild).toMatchObject({ running: false, position: stoppedAt, eventsApplied: 500n });
      expect(formatStatus(status)).toContain(`users: an interrupted rebuild waits at position ${String(stoppedAt)} (500 events`);

      const resumed = await rebuildProjections(app.pool, app.store, [users], { batchSizeMax: 100 });

      expect(resumed).toEqual([expect.objectContaining({ name: 'users', outcome: 'rebuilt', resumedFrom: stoppedAt })]);
      const totalEvents = 3 * (USERS + 100);
      expect(resumed[0].eventsApplied).toBe(BigInt(totalEvents));
      expect(resumed[0].eventsThisRun).toBe(totalEvents - 500);
      expect(await usersTable()).toEqual({ count: USERS + 100, sum: 0n });
      expect(await app.pool.oneFirst(sql.type(z.object({ exists: z.boolean() }))`
        SELECT EXISTS (SELECT 1 FROM ${sql.identifier([REBUILD_SCHEMA, 'shadow_checkpoints'])} WHERE projection_name = 'users') AS exists`)).toBe(false);
      expect((await verify(app)).differences).toBe(0);

      // --restart drops an interrupted build instead.
      const again = new AbortController();
      await rebuildProjections(app.pool, app.store, [users], { batchSizeMax: 100, signal: again.signal, progress: { start: () => undefined, update: () => again.abort(), stop: () => undefined } });
      const restarted = await rebuildProjections(app.pool, app.store, [users], { batchSizeMax: 1_000, restart: true });
      expect(restarted).toEqual([expect.objectContaining({ outcome: 'rebuilt', resumedFrom: null, eventsThisRun: totalEvents })]);
    });

    it('status gives each checkpoint, the events and seconds behind, and the state', async () => {
      await synced(app);
      const neverRun: Projection = { name: 'test_never_run', filter: { kind: 'category', categories: ['user'] }, tables: [], apply: async () => undefined };

      const status = await projectionsStatus(app.pool, app.store, [...allProjections, neverRun], { countMax: 1_000 });
      const text = formatStatus(status);

      const head = await app.store.headPosition();
      expect(status.head).toBe(head);
      for (const line of status.projections.slice(0, -1)) {
        expect(line).toMatchObject({ state: 'caught up', eventsBehind: 0, secondsBehind: 0 });
        expect(line.checkpoint).not.toBeNull();
      }
      expect(status.projections.at(-1)).toMatchObject({ name: 'test_never_run', checkpoint: null, state: 'never run', eventsBehind: 1_000, eventsBehindAtLeast: true });
      expect(status.projections.at(-1)?.secondsBehind).toBeGreaterThan(0);
      expect(text).toMatch(new RegExp(`^users +${String(head)} +0 +0\\.0  caught up +\\d{4}-`, 'm'));
      expect(text).toMatch(/^test_never_run +- +1000\+ +\d+\.\d  never run +-$/m);
      expect(text).toContain(`head of the event store: ${String(head)}`);
    });

    it('builds a projection that never ran, and compares a table without a primary key as a multiset', async () => {
      // Given a read model of one row per registration, with no key, that the projector does not run.
      await app.pool.query(sql.unsafe`CREATE TABLE registration_notes (user_id uuid NOT NULL, note text NOT NULL)`);
      const notes: Projection = {
        name: 'registration_notes',
        filter: { kind: 'eventType', eventTypes: ['UserRegistered'] },
        tables: ['registration_notes'],
        async apply(transaction, events) {
          for (const event of events) {
            await transaction.query(sql.unsafe`INSERT INTO registration_notes (user_id, note) VALUES (${String(event.data.userId)}, 'registered')`);
          }
        },
      };

      const [built] = await rebuildProjections(app.pool, app.store, [notes]);
      const report = await verifyProjections(app.pool, app.store, [notes]);
      await app.pool.query(sql.unsafe`INSERT INTO registration_notes (user_id, note) SELECT user_id, 'again' FROM registration_notes LIMIT 1`);
      const dirty = await verifyProjections(app.pool, app.store, [notes]);

      expect(built).toMatchObject({ outcome: 'rebuilt', resumedFrom: null, tables: [{ table: 'registration_notes', rows: USERS + 100 }] });
      expect(report).toMatchObject({ differences: 0, rows: USERS + 100 });
      expect(dirty.differences).toBe(1);
      expect(formatVerifyReport(dirty)).toMatch(/^ {2}registration_notes \(no primary key\): only in the live table \(the events do not produce it\): \{"note": "again", "user_id": "[0-9a-f-]{36}"\}$/m);
    });

    it('refuses a second rebuild while one runs, and names the projections when asked for an unknown one', async () => {
      const [users] = selectProjections(['users']);
      let running: Promise<string> | null = null;
      const first = rebuildProjections(app.pool, app.store, [users], {
        batchSizeMax: 50,
        progress: {
          start: () => undefined,
          // While the first batches commit: status sees it running, a second rebuild is refused.
          update: () => {
            running ??= projectionsStatus(app.pool, app.store, [users]).then(formatStatus);
          },
          stop: () => undefined,
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await expect(rebuildProjections(app.pool, app.store, [users])).rejects.toMatchObject({ code: 'rebuild_in_progress' });
      await first;
      expect(await running).toMatch(/^users: a rebuild is running, at position \d+ \(\d+ events, started /m);
      expect(() => selectProjections(['nope'])).toThrow(/Unknown projection nope; the projections are users \(users\), wallet_links/);
      expect(selectProjections(['donation_ledger', 'users']).map((projection) => projection.name)).toEqual(['users', 'treasury']);
      const program = new Command('cli');
      registerProjectionCommands(program);
      const group = program.commands.find((command) => command.name() === 'projections');
      expect(group?.commands.map((command) => command.name())).toEqual(['rebuild', 'verify', 'status']);
      expect(group?.commands[0].helpInformation()).toContain('[names...]');
    });
  });
});
