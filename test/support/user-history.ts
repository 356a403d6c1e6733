import { randomUUID } from 'node:crypto';
import { decide, evolve, initialState, type UserCommand } from '../../src/identity/user/user.decider';
import { type UserEvent } from '../../src/identity/user/user.events';
import { type EventStore, type NewEvent } from '../../src/platform/event-store/event-store.port';

/** The rate (0.05 BAN a kill) and abuse limits the realistic user histories of the projection tests accrue at. */
export const HISTORY_RATE = { baseRaw: 5n * 10n ** 27n, milestoneMultiplier: '1.00', sustainabilityFactor: '2.0000' };
export const HISTORY_ABUSE = { killRatePerMinute: 10n, maxKillsPerObservation: 500n };

/** The events `commands` decide, each from the state the ones before left: a user stream as the deciders make it. */
export function decideInTurn(commands: readonly UserCommand[], events: UserEvent[] = []): UserEvent[] {
  for (const command of commands) events.push(...decide(command, events.reduce(evolve, initialState)));
  return events;
}

/**
 * Pays user `n`'s first accrual among `events` in a dry run (requested at minute 10, sent at 11),
 * appending the events to `events`: how half the users of those histories are paid.
 */
export function payFirstAccrual(events: UserEvent[], n: number, at: (minutes: number) => Date): UserEvent[] {
  const firstAccrual = events.find((event) => event.type === 'AccrualRecorded');
  if (firstAccrual?.type !== 'AccrualRecorded') return events;
  const payoutId = randomUUID();
  const kills = BigInt(firstAccrual.data.kills);
  return decideInTurn(
    [
      {
        type: 'RequestPayout',
        data: {
          payoutId,
          runId: randomUUID(),
          gateway: 'dry-run',
          address: `ban_1wallet${n}`,
          kills,
          amountRaw: kills * BigInt(firstAccrual.data.ratePerKillRaw),
          idempotencyKey: `key-${n}`,
          accruals: [{ accrualId: firstAccrual.data.accrualId, kills }],
          requireVerifiedWallet: false,
          now: at(10),
        },
      },
      { type: 'RecordPayoutSent', data: { payoutId, gateway: 'dry-run', blockHash: `dryrun-${payoutId}`, now: at(11) } },
    ],
    events,
  );
}

/**
 * User `n`'s whole history, appended to `store` as the deciders make it: registered, linked, a
 * wallet, kills observed twice, and (every other user) the first accrual paid. `parts: 2` appends it
 * in two calls, so one user's events land in different batches of the projectors.
 */
export async function appendUserHistory(
  store: EventStore,
  n: number,
  options: { readonly t0: number; readonly discordBase: bigint; readonly actor: string; readonly parts?: 1 | 2 },
): Promise<void> {
  const userId = randomUUID();
  const at = (minutes: number): Date => new Date(options.t0 + n * 3_600_000 + minutes * 60_000);
  const rate = HISTORY_RATE;
  const abuse = HISTORY_ABUSE;
  const commands: UserCommand[] = [
    { type: 'RegisterUser', data: { userId, discordUserId: `${options.discordBase + BigInt(n)}`, regionCode: n % 2 === 0 ? 'EU' : null, now: at(0) } },
    { type: 'LinkEpicAccount', data: { epicAccountId: n.toString(16).padStart(32, '0'), baselineKills: BigInt(n), linkedToAnotherUser: false, formerHolderMark: null, rate, now: at(0) } },
    { type: 'LinkWallet', data: { address: `ban_1wallet${n}`, primaryForAnotherUser: false, now: at(1) } },
    { type: 'ObserveKills', data: { lifetimeKills: BigInt(n + 7), observedAt: at(2), now: at(2), rate, abuse } },
    { type: 'ObserveKills', data: { lifetimeKills: BigInt(n + 30), observedAt: at(6), now: at(6), rate, abuse } },
  ];
  const events = decideInTurn(commands);
  if (n % 2 === 0) payFirstAccrual(events, n, at);
  const metadata = { causationId: null, actor: { kind: 'system' as const, name: options.actor }, schemaVersion: 1 };
  const toNew = (event: UserEvent): NewEvent => ({ id: randomUUID(), type: event.type, data: event.data, metadata: { ...metadata, correlationId: randomUUID() } });
  const half = options.parts === 2 ? Math.ceil(events.length / 2) : events.length;
  await store.appendToStream(`user-${userId}`, events.slice(0, half).map(toNew), { expectedRevision: 'no_stream' });
  if (half < events.length) await store.appendToStream(`user-${userId}`, events.slice(half).map(toNew), { expectedRevision: BigInt(half - 1) });
}
