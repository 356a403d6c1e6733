import { randomUUID } from 'node:crypto';
import { decide, evolve, initialState, type UserCommand } from '../../src/identity/user/user.decider';
import { type UserEvent } from '../../src/identity/user/user.events';

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
