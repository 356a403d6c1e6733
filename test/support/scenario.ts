import { randomBytes } from 'node:crypto';
import { accountFromSeed } from '../../src/payouts/banano/state-block';
import { type TestApp } from './test-app';

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One JSON request to the test app. */
export async function call(app: TestApp, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A fresh Banano account (a random seed's index 0), for wallets and operators. */
export async function newBananoAccount(): Promise<{ seed: string; address: string; privateKey: string }> {
  const seed = randomBytes(32).toString('hex').toUpperCase();
  return { seed, ...(await accountFromSeed(seed, 0)) };
}

let discordSequence = 700_000_000_000_000_000n;
let epicSequence = 0;

/**
 * A player who is verified (linked without Yunite), has a wallet and has accrued `kills` kills
 * a couple of minutes ago, through the public API. Answers the user id and wallet address.
 */
export async function earner(app: TestApp, kills: number, wallet?: string): Promise<{ userId: string; address: string }> {
  discordSequence += 1n;
  epicSequence += 1;
  const address = wallet ?? (await newBananoAccount()).address;
  const { body } = await call(app, 'POST', '/v1/users', { discordUserId: discordSequence.toString() });
  const userId = body.userId as string;
  await call(app, 'PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: epicSequence.toString(16).padStart(32, 'e'), lifetimeKills: 0 });
  await call(app, 'PUT', `/v1/users/${userId}/wallet`, { address });
  if (kills > 0) await call(app, 'POST', `/v1/users/${userId}/kills`, { lifetimeKills: kills, observedAt: new Date(Date.now() - 120_000).toISOString() });
  return { userId, address };
}
