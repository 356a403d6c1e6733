import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { runUserCommand } from '../../src/identity/user/run-user-command';
import { BananoRpcClient } from '../../src/payouts/banano/banano-rpc.client';
import { accountFromSeed, buildSendBlock, withWork } from '../../src/payouts/banano/state-block';
import { type DonationIngester } from '../../src/treasury/donation-ingester';
import { type BananoNodeDouble, startBananoNodeDouble } from '../doubles/banano-node.double';
import { startTestApp, synced, type TestApp } from './test-app';

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Record<string, unknown>;
}

/**
 * One JSON request to the test app, with the app's all-scope key unless `headers` carry their own
 * `authorization` (an empty one sends none).
 */
export async function call(app: TestApp, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const { authorization = `Bearer ${app.apiKey}`, ...others } = headers;
  const sent: Record<string, string> = authorization === '' ? others : { authorization, ...others };
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: body === undefined ? sent : { 'content-type': 'application/json', ...sent },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // A 204 has no body: it reads as an empty object.
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

/** A fresh Banano account (a random seed's index 0), for wallets and operators. */
export async function newBananoAccount(): Promise<{ seed: string; address: string; privateKey: string }> {
  const seed = randomBytes(32).toString('hex').toUpperCase();
  return { seed, ...(await accountFromSeed(seed, 0)) };
}

/**
 * An operator account for live tests: a fresh seed written to `directory/operator.seed` (mode
 * 0600, for BANANO_OPERATOR_SEED_FILE), opened on the node double with `openWithRaw` when given.
 */
export async function liveOperator(
  node: BananoNodeDouble,
  directory: string,
  openWithRaw: bigint | null,
): Promise<{ seedFile: string; address: string; privateKey: string }> {
  const seedFile = join(directory, 'operator.seed');
  const operator = await replaceOperatorSeed(node, seedFile, openWithRaw);
  return { seedFile, address: operator.address, privateKey: operator.privateKey };
}

/**
 * The operator seed file `seedFile` now names a fresh account (mode 0600), as an operator writing
 * a new seed leaves it; the account is opened on the node double with `openWithRaw` first, when
 * given, so no worker ever reads a seed whose account lacks its funds.
 */
export async function replaceOperatorSeed(
  node: BananoNodeDouble,
  seedFile: string,
  openWithRaw: bigint | null,
): Promise<{ seed: string; address: string; privateKey: string }> {
  const operator = await newBananoAccount();
  if (openWithRaw !== null) await node.fundAndOpen(operator.privateKey, openWithRaw);
  await writeFile(seedFile, operator.seed, { mode: 0o600 });
  return operator;
}

/**
 * A send of `amountRaw` signed with `from`'s key and published straight to the node double, as a
 * wallet would: whoever `to` is finds it receivable, and the ledger hears nothing of it. Answers the
 * send's hash.
 */
export async function sendSignedBy(node: BananoNodeDouble, from: Keys, to: string, amountRaw: bigint): Promise<string> {
  const rpc = new BananoRpcClient({ url: node.url, timeoutMs: 5_000, retriesMax: 0 });
  const info = await rpc.accountInfo(from.address);
  if (info === null) throw new Error(`${from.address} is not opened`);
  const { block } = await buildSendBlock({
    privateKey: from.privateKey,
    previous: info.frontier,
    representative: info.representative,
    balanceBeforeRaw: info.balanceRaw,
    amountRaw,
    destination: to,
  });
  return (await rpc.process(withWork(block, await rpc.workGenerate(info.frontier)), 'send')).hash;
}

/**
 * A donation of `amountRaw` from `donor` to `to` on the node double: the donor is funded and opened
 * with exactly that much, then sends all of it. Answers the send's hash.
 */
export async function donateFrom(node: BananoNodeDouble, donor: Keys, to: string, amountRaw: bigint): Promise<string> {
  await node.fundAndOpen(donor.privateKey, amountRaw);
  return sendSignedBy(node, donor, to, amountRaw);
}

export interface Keys {
  readonly address: string;
  readonly privateKey: string;
}

export interface LiveApp {
  readonly app: TestApp;
  readonly node: BananoNodeDouble;
  readonly operator: Keys;
  readonly seedFile: string;
  readonly ingester: DonationIngester;
}

/**
 * A live test app on a fresh database against a fresh node double, with an operator whose seed is
 * in a file (opened with `openWithRaw` when given), settlement only on demand; `env` adds to or
 * overrides that. Everything is closed and removed after `body`.
 */
export async function withLiveApp(
  options: { readonly env?: (node: BananoNodeDouble) => Record<string, string>; readonly openWithRaw?: bigint },
  body: (live: LiveApp) => Promise<void>,
): Promise<void> {
  const node = await startBananoNodeDouble();
  const directory = await mkdtemp(join(tmpdir(), 'ledger-live-'));
  try {
    const { seedFile, ...operator } = await liveOperator(node, directory, options.openWithRaw ?? null);
    const app = await startTestApp({
      BANANO_RPC_URL: node.url,
      BANANO_OPERATOR_SEED_FILE: seedFile,
      BANANO_RPC_TIMEOUT_MS: '2000',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      PAYOUT_RETRY_BACKOFF_SECONDS: '0',
      ...options.env?.(node),
    });
    try {
      const ingester = app.workers.donationIngester;
      if (ingester === null) throw new Error('a live app has a donation ingester');
      await body({ app, node, operator, seedFile, ingester });
    } finally {
      await app.close();
    }
  } finally {
    await node.close();
    await rm(directory, { recursive: true, force: true });
  }
}

let discordSequence = 700_000_000_000_000_000n;
let epicSequence = 0;

export interface Earner {
  readonly userId: string;
  readonly discordUserId: string;
  readonly epicAccountId: string;
  readonly address: string;
}

/**
 * A player who is verified (linked without Yunite), has a wallet (`wallet`, a fresh one when
 * absent, none when null) and has accrued `kills` kills a couple of minutes ago, through the
 * public API.
 */
export async function earner(app: TestApp, kills: number, options?: { wallet?: string }): Promise<Earner>;
export async function earner(app: TestApp, kills: number, options: { wallet: string | null }): Promise<Omit<Earner, 'address'> & { address: string | null }>;
export async function earner(app: TestApp, kills: number, options: { wallet?: string | null } = {}): Promise<Omit<Earner, 'address'> & { address: string | null }> {
  discordSequence += 1n;
  epicSequence += 1;
  const discordUserId = discordSequence.toString();
  const epicAccountId = epicSequence.toString(16).padStart(32, 'e');
  const address = options.wallet === undefined ? (await newBananoAccount()).address : options.wallet;
  const { body } = await call(app, 'POST', '/v1/users', { discordUserId });
  const userId = body.userId as string;
  await call(app, 'PUT', `/v1/users/${userId}/epic-account`, { epicAccountId, lifetimeKills: 0 });
  if (address !== null) await call(app, 'PUT', `/v1/users/${userId}/wallet`, { address });
  if (kills > 0) await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: kills, observedAt: new Date(Date.now() - 120_000).toISOString() });
  return { userId, discordUserId, epicAccountId, address };
}

/**
 * Requests a payout of the earner's one accrual as a dry-run settlement would have planned it
 * (say, before BANANO_RPC_URL was set), straight through the user stream; answers its id.
 */
export async function requestPayoutPlannedInDryRun(app: TestApp, player: Earner, kills: bigint, amountRaw: bigint): Promise<string> {
  await synced(app);
  const accrualId = await app.pool.oneFirst(sql.unsafe`SELECT accrual_id FROM reward_accruals WHERE user_id = ${player.userId}`);
  const payoutId = randomUUID();
  await runUserCommand(
    app.store,
    player.userId,
    {
      type: 'RequestPayout',
      data: {
        payoutId,
        runId: randomUUID(),
        gateway: 'dry-run',
        address: player.address,
        kills,
        amountRaw,
        idempotencyKey: 'planned-in-a-dry-run',
        accruals: [{ accrualId: String(accrualId), kills }],
        requireVerifiedWallet: false,
        now: new Date(),
      },
    },
    { correlationId: 'test', causationId: null, actor: { kind: 'admin', name: 'test' } },
  );
  return payoutId;
}
