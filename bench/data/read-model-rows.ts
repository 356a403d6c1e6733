import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { accrualIdFor } from '../../src/identity/user/user.decider';
import { userIdFromDiscordId } from '../../src/identity/user/user.stream';
import { formatBan, parseBan } from '../../src/platform/money';
import { DEFAULT_MILESTONES, milestoneFor } from '../../src/rewards/economics/rate';
import { benchAddress } from './ledger-history';
import { copyIn, copyLine } from './pg-copy';
import { SeededRandom } from './random';

/*
 * Read-model rows for P4, written straight into the tables with COPY (the issue allows it: P4
 * measures the queries, not how the rows got there). They are what the projections would hold for
 * `users` players with `accruals` accruals in all: each user's accruals in distinct minutes with
 * running kill counts; the older ones settled by sent dry-run payouts of a few accruals each (with
 * their accrual_claims); the users' running totals (accrued, settled) the sums of those rows;
 * a primary wallet each, an open medium flag for one in a hundred; donations from 200 donors with
 * their totals and the milestones they reached. The rate is 0.05 BAN × the milestone multiplier ×
 * a sustainability factor, as the decider fixes it into each accrual.
 */

export interface ReadModelSizes {
  readonly users: number;
  readonly accruals: number;
}

export interface ReadModelSummary {
  readonly userIds: readonly string[];
  readonly rows: ReadonlyMap<string, number>;
}

const CHUNK_BYTES = 512 * 1024;
const MINUTE_MS = 60_000;
const BASE_RATE_RAW = parseBan('0.05') as bigint;

export async function loadReadModels(databaseUrl: string, sizes: ReadModelSizes, now: Date): Promise<ReadModelSummary> {
  const random = new SeededRandom('pay2slay-bench-p4');
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench-read-models' });
  await client.connect();
  const rows = new Map<string, number>();
  const userIds: string[] = [];
  try {
    await client.query('BEGIN');
    const start = now.getTime() - 60 * 24 * 60 * MINUTE_MS;
    const users: string[] = [];
    const wallets: string[] = [];
    const accruals: string[] = [];
    const claims: string[] = [];
    const payouts: string[] = [];
    const flags: string[] = [];
    const flush = async (table: string, columns: string, lines: string[]): Promise<void> => {
      if (lines.length === 0) return;
      const chunks = (function* chunked(): Generator<string> {
        let chunk = '';
        for (const line of lines) {
          chunk += line;
          if (chunk.length >= CHUNK_BYTES) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk.length > 0) yield chunk;
      })();
      const copied = await copyIn(client, `COPY ${table} (${columns}) FROM STDIN`, chunks);
      rows.set(table, (rows.get(table) ?? 0) + copied);
      lines.length = 0;
    };
    const USER_COLUMNS =
      'user_id, discord_user_id, region_code, epic_account_id, verification_status, verification_source, last_verified_at, baseline_kills, epic_linked_at, ' +
      'last_settled_kill_count, last_settlement_at, accrued_kill_count, accrued_raw, settled_raw, last_observed_kill_count, last_observed_at, registered_at, stream_revision';
    const ACCRUAL_COLUMNS =
      'accrual_id, user_id, epoch_minute, kills, from_kill_count, to_kill_count, rate_per_kill_raw, base_rate_per_kill_raw, milestone_multiplier, ' +
      'sustainability_factor, amount_raw, amount_ban, settled, payout_id, recorded_at, claimed_kills, settled_kills';
    const PAYOUT_COLUMNS =
      'payout_id, user_id, run_id, gateway, status, kills, amount_raw, amount_ban, address, idempotency_key, accruals, attempt_count, ' +
      'first_attempt_at, last_attempt_at, block_hash, requested_at, requested_position, sent_at';
    let position = 0;
    let sentTotalRaw = 0n;
    const perUser = Math.floor(sizes.accruals / sizes.users);
    if (perUser < 1) throw new Error('P4 needs at least one accrual per user');
    let produced = 0;
    let carry = 0;
    const runIds = Array.from({ length: 60 }, () => random.uuid());
    for (let index = 0; index < sizes.users; index += 1) {
      const discordUserId = String(200_000_000_000_000_000n + BigInt(index) * 7919n);
      const userId = userIdFromDiscordId(discordUserId);
      userIds.push(userId);
      const address = benchAddress(`bench-p4-wallet-${index}`);
      // Users come in pairs, one with d more accruals than the mean and one with d fewer, and the
      // last takes what is left, so the total is exact.
      let count: number;
      if (index === sizes.users - 1) count = sizes.accruals - produced;
      else if (index % 2 === 0) {
        carry = random.int(0, Math.max(0, perUser - 1));
        count = perUser + carry;
      } else count = perUser - carry;
      produced += count;
      const registeredAt = start + random.int(0, 10 * 24 * 60) * MINUTE_MS;
      const baseline = random.int(0, 5_000);
      let minute = Math.floor(registeredAt / MINUTE_MS) + 5;
      let killCount = baseline;
      let accruedKills = 0;
      let accruedRaw = 0n;
      let settledKills = 0;
      let settledRaw = 0n;
      let lastSettlementAt: string | null = null;
      const settledCount = Math.floor(count * 0.5);
      let group: Array<{ id: string; kills: number; amountRaw: bigint; line: (payoutId: string | null) => string }> = [];
      const payOut = (at: number): void => {
        if (group.length === 0) return;
        const payoutId = random.uuid();
        const kills = group.reduce((sum, accrual) => sum + accrual.kills, 0);
        const amountRaw = group.reduce((sum, accrual) => sum + accrual.amountRaw, 0n);
        const requestedAt = new Date(at).toISOString();
        const sentAt = new Date(at + 1_000).toISOString();
        const key = createHash('sha256').update(group.map((accrual) => accrual.id).sort().join(',')).digest('hex');
        position += 1;
        payouts.push(
          copyLine([
            payoutId, userId, runIds[random.int(0, runIds.length - 1)], 'dry-run', 'sent', kills, amountRaw.toString(), formatBan(amountRaw), address, key,
            JSON.stringify(group.map((accrual) => ({ accrualId: accrual.id, kills: accrual.kills }))), 1, sentAt, sentAt, `dryrun-${payoutId}`, requestedAt, position, sentAt,
          ]),
        );
        for (const accrual of group) {
          accruals.push(accrual.line(payoutId));
          claims.push(copyLine([accrual.id, payoutId, accrual.kills, true]));
        }
        settledKills += kills;
        settledRaw += amountRaw;
        sentTotalRaw += amountRaw;
        lastSettlementAt = sentAt;
        group = [];
      };
      for (let k = 0; k < count; k += 1) {
        minute += random.int(1, 600);
        const kills = random.int(1, 20);
        const multiplier = milestoneFor(BigInt(k) * 50n * 10n ** 29n, DEFAULT_MILESTONES).multiplier;
        const sustainability = k < 2 ? '2.0000' : `1.${random.int(0, 9999).toString().padStart(4, '0')}`;
        const rateRaw = rate(multiplier, sustainability);
        const amountRaw = rateRaw * BigInt(kills);
        const accrualId = accrualIdFor(userId, minute);
        const from = killCount;
        killCount += kills;
        accruedKills += kills;
        accruedRaw += amountRaw;
        const recordedAt = new Date(minute * MINUTE_MS + 5_000).toISOString();
        const accrualMinute = minute;
        const line = (payoutId: string | null): string =>
          copyLine([
            accrualId, userId, accrualMinute, kills, from, from + kills, rateRaw.toString(), BASE_RATE_RAW.toString(), multiplier, sustainability,
            amountRaw.toString(), formatBan(amountRaw), payoutId !== null, payoutId, recordedAt, payoutId === null ? 0 : kills, payoutId === null ? 0 : kills,
          ]);
        if (k < settledCount) {
          group.push({ id: accrualId, kills, amountRaw, line });
          if (group.length >= 3 || k === settledCount - 1) payOut(minute * MINUTE_MS + 6 * 60 * MINUTE_MS);
        } else accruals.push(line(null));
      }
      const observedAt = new Date(minute * MINUTE_MS + 5_000).toISOString();
      users.push(
        copyLine([
          userId, discordUserId, random.chance(0.7) ? 'EU' : 'NAE', createHash('md5').update(`bench-p4-epic-${index}`).digest('hex'), 'ok', 'integration',
          new Date(registeredAt + 20_000).toISOString(), baseline, new Date(registeredAt + 20_000).toISOString(), settledKills, lastSettlementAt,
          accruedKills, accruedRaw.toString(), settledRaw.toString(), killCount, observedAt, new Date(registeredAt).toISOString(), 3 + count * 2,
        ]),
      );
      wallets.push(copyLine([userId, address, true, false, new Date(registeredAt + 40_000).toISOString()]));
      if (random.chance(0.01)) {
        flags.push(copyLine([random.uuid(), userId, 'kills_decreased', 'med', `lifetime kills ${killCount - 3} below the accrued ${killCount}`, 'open', observedAt]));
      }
      if (accruals.length >= 50_000) {
        await flush('reward_accruals', ACCRUAL_COLUMNS, accruals);
        await flush('accrual_claims', 'accrual_id, payout_id, kills, sent', claims);
        await flush('payouts', PAYOUT_COLUMNS, payouts);
      }
    }
    await flush('users', USER_COLUMNS, users);
    await flush('wallet_links', 'user_id, address, is_primary, verified, linked_at', wallets);
    await flush('reward_accruals', ACCRUAL_COLUMNS, accruals);
    await flush('accrual_claims', 'accrual_id, payout_id, kills, sent', claims);
    await flush('payouts', PAYOUT_COLUMNS, payouts);
    await flush('abuse_flags', 'flag_id, user_id, flag_type, severity, detail, status, raised_at', flags);
    await flush('payout_totals', 'total_name, amount_raw', [copyLine(['sent', sentTotalRaw.toString()])]);
    await loadTreasury(random, start, now.getTime(), flush);
    await client.query('COMMIT');
    // A read model that has lived this long has statistics: the plans depend on them.
    await client.query('ANALYZE');
    return { userIds, rows };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

function rate(multiplier: string, sustainability: string): bigint {
  const scaled = (text: string, digits: number): bigint => BigInt(text.replace('.', '').padEnd(text.indexOf('.') + 1 + digits, '0'));
  const exact = (BASE_RATE_RAW * scaled(multiplier, 2) * scaled(sustainability, 4)) / 1_000_000n;
  const unit = 10n ** 21n;
  return (exact / unit) * unit;
}

async function loadTreasury(
  random: SeededRandom,
  from: number,
  to: number,
  flush: (table: string, columns: string, lines: string[]) => Promise<void>,
): Promise<void> {
  const operator = benchAddress('bench-p4-operator');
  const donors = Array.from({ length: 200 }, (_, index) => benchAddress(`bench-p4-donor-${index}`));
  const ledger: string[] = [];
  const totals = new Map<string, { amountRaw: bigint; count: number; last: string }>();
  const reached: string[] = [];
  let donatedRaw = 0n;
  let position = 0;
  for (let index = 0; index < 1_000; index += 1) {
    const sender = donors[Math.floor(Math.pow(random.next(), 2) * donors.length)];
    const amountRaw = parseBan(`${random.int(1, 400)}.${random.int(0, 99).toString().padStart(2, '0')}`) as bigint;
    const at = new Date(from + ((to - from) * index) / 1_000).toISOString();
    const sendHash = random.hex(64).toUpperCase();
    position += 1;
    ledger.push(copyLine([sendHash, operator, 'donation', sender, amountRaw.toString(), formatBan(amountRaw), random.hex(64).toUpperCase(), at, random.uuid(), position]));
    const total = totals.get(sender) ?? { amountRaw: 0n, count: 0, last: at };
    totals.set(sender, { amountRaw: total.amountRaw + amountRaw, count: total.count + 1, last: at });
    const before = donatedRaw;
    donatedRaw += amountRaw;
    for (const tier of DEFAULT_MILESTONES) {
      if (tier.thresholdRaw > 0n && before < tier.thresholdRaw && donatedRaw >= tier.thresholdRaw) {
        reached.push(copyLine([tier.thresholdRaw.toString(), formatBan(tier.thresholdRaw), tier.multiplier, tier.name, at, donatedRaw.toString(), sendHash, random.uuid()]));
      }
    }
  }
  await flush('donation_ledger', 'send_block_hash, operator_address, kind, sender, amount_raw, amount_ban, receive_block_hash, received_at, event_id, position', ledger);
  await flush(
    'donor_totals',
    'sender, amount_raw, donation_count, last_donation_at',
    [...totals].map(([sender, total]) => copyLine([sender, total.amountRaw.toString(), total.count, total.last])),
  );
  await flush('treasury_totals', 'total_name, amount_raw, entry_count', [copyLine(['donated', donatedRaw.toString(), 1_000])]);
  await flush('milestones', 'threshold_raw, threshold_ban, multiplier, name, reached_at, total_donated_raw, send_block_hash, event_id', reached);
}
