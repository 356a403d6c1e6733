import { type Pool } from 'pg';

/*
 * The SQL of P4's four dashboard queries, as their handlers run it: the baseline P4 sends straight
 * through pg, and what the bare fastify + pg reference (baseline/bare-query-server.ts) runs behind
 * the same routes.
 */

/** Pools like the service's two: the read models' and the PostgreSQL event store's. */
export interface Pools {
  readonly db: Pool;
  readonly events: Pool;
}

export interface DashboardQuery {
  readonly name: string;
  /** The route, for a user picked at random. */
  path(userId: string): string;
  readonly needsKey: boolean;
  /** What the route's handler runs, as it runs it; answers the rows it read. */
  baseline(pools: Pools, userId: string): Promise<unknown>;
}

const FAUCET_CONFIG_STREAM = 'faucet-config';
/**
 * PostgresEventStore.readStream, as it reads the faucet-config stream (FaucetSettings.current)
 * when fewer than half its pool is reading; past that, concurrent reads go out together in one
 * statement, which this baseline does not do.
 */
const readFaucetConfig = (pools: Pools) =>
  pools.events.query(
    `SELECT global_position, stream_name, stream_revision, event_id, event_type, data, metadata, created_at FROM events
        WHERE stream_name = $1 AND stream_revision >= $2
        ORDER BY stream_revision
        LIMIT $3`,
    [FAUCET_CONFIG_STREAM, '0', null],
  );

/**
 * The four dashboard queries, with the statements of their handlers (src/identity/get-user,
 * src/payouts/list-payouts, src/dashboard-queries/leaderboard, src/treasury/donations) as they
 * stand: a change there must be made here too.
 */
export const QUERIES: readonly DashboardQuery[] = [
  {
    name: 'user status',
    path: (userId) => `/v1/users/${userId}`,
    needsKey: true,
    // GetUserHandler.now: the user with its primary wallet, its open flags, its claims against the
    // caps, then the settings in force (the faucet-config stream) — one after another.
    async baseline(pools, userId) {
      const user = await pools.db.query(
        `SELECT u.user_id, discord_user_id, region_code, epic_account_id, verification_status,
             last_settled_kill_count, last_settlement_at, accrued_kill_count, last_observed_kill_count, registered_at,
             accrued_raw, settled_raw, w.address AS wallet_address, w.verified AS wallet_verified
        FROM users u
        LEFT JOIN wallet_links w ON w.user_id = u.user_id AND w.is_primary
       WHERE u.user_id = $1`,
        [userId],
      );
      const flags = await pools.db.query(`SELECT flag_id, flag_type, severity FROM abuse_flags WHERE user_id = $1 AND status = 'open' ORDER BY raised_at`, [userId]);
      // The cap windows of the database's clock, in the same statement (capWindowsSql).
      const claims = await pools.db.query(
        `WITH windows AS (SELECT date_trunc('day', clock_timestamp(), 'UTC') AS day_start, date_trunc('week', clock_timestamp(), 'UTC') AS week_start)
      SELECT coalesce(sum(p.kills) FILTER (WHERE p.requested_at >= w.day_start), 0)::bigint AS today,
             coalesce(sum(p.kills), 0)::bigint AS week
        FROM windows w, payouts p
       WHERE p.user_id = $1 AND p.status <> 'cancelled' AND p.requested_at >= w.week_start`,
        [userId],
      );
      const settings = await readFaucetConfig(pools);
      return { user: user.rows, flags: flags.rows, claims: claims.rows, settings: settings.rows };
    },
  },
  {
    name: 'payouts page',
    path: (userId) => `/v1/users/${userId}/payouts`,
    needsKey: true,
    // ListPayoutsController.list: the user exists (slonik's exists()), then the first page (limit 50, one more read).
    async baseline(pools, userId) {
      const exists = await pools.db.query(`SELECT EXISTS(SELECT 1 FROM users WHERE user_id = $1)`, [userId]);
      const page = await pools.db.query(
        `SELECT payout_id, user_id, status, gateway, kills, amount_raw, address, idempotency_key, attempt_count,
  first_attempt_at, last_attempt_at, last_error, next_attempt_at, failed_at, cancelled_at, cancel_reason,
  block_hash, requested_at, sent_at, accruals, requested_position FROM payouts
       WHERE user_id = $1 
       ORDER BY requested_position DESC LIMIT $2`,
        [userId, 51],
      );
      return { exists: exists.rows, page: page.rows };
    },
  },
  {
    name: 'leaderboard',
    path: () => '/v1/leaderboard?by=kills',
    needsKey: false,
    // GetLeaderboardHandler: the first 10 of the partial index on accrued kills.
    async baseline(pools) {
      const { rows } = await pools.db.query(
        `SELECT u.user_id, u.discord_user_id, u.accrued_kill_count, u.accrued_raw::text AS accrued_raw, u.settled_raw::text AS settled_raw
        FROM users u
       WHERE u.accrued_kill_count > 0
       ORDER BY u.accrued_kill_count DESC, u.user_id
       LIMIT $1`,
        [10],
      );
      return rows;
    },
  },
  {
    name: 'donations',
    path: () => '/v1/donations',
    needsKey: false,
    // GetDonationsHandler.execute: five reads in one REPEATABLE READ, READ ONLY transaction on one
    // connection — totals, milestones reached, the top 50 donors, the donor count and the rate's
    // paid and donated totals (RateFactorsSource.current) — and beside it the settings in force
    // (the faucet-config stream) and the operator address (the secure_config entry).
    async baseline(pools) {
      const snapshot = async () => {
        const client = await pools.db.connect();
        try {
          await client.query('START TRANSACTION');
          await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
          const reads = await Promise.all([
            client.query(`SELECT total_name, amount_raw::text, entry_count FROM treasury_totals`),
            client.query(`SELECT threshold_raw::text, reached_at FROM milestones`),
            client.query(
              `SELECT d.sender, d.amount_raw::text, d.donation_count, d.last_donation_at FROM donor_totals d
           ORDER BY d.amount_raw DESC, d.sender LIMIT $1`,
              [50],
            ),
            client.query(`SELECT count(*) AS donors FROM donor_totals`),
            client.query(`
      SELECT coalesce((SELECT amount_raw FROM payout_totals WHERE total_name = 'sent'), 0)::text AS paid_raw,
             coalesce((SELECT amount_raw FROM treasury_totals WHERE total_name = 'donated'), 0)::text AS donated_raw`),
          ]);
          await client.query('COMMIT');
          return reads;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      };
      const [[totals, milestones, donors, donorCount, paid], settings, operatorSeed] = await Promise.all([
        snapshot(),
        readFaucetConfig(pools),
        pools.db.query(`SELECT name, ciphertext, auth_tag, nonce, key_id, address, updated_at FROM secure_config WHERE name = $1`, ['operator_seed']),
      ]);
      // Like the handler, it answers the operator's address and none of the seed's ciphertext.
      return {
        totals: totals.rows,
        milestones: milestones.rows,
        donors: donors.rows,
        donorCount: donorCount.rows,
        paid: paid.rows,
        settings: settings.rows,
        operatorAddress: operatorSeed.rows[0]?.address ?? null,
      };
    },
  },
];
