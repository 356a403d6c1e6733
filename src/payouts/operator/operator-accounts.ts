import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { type EventStore } from '../../platform/event-store/event-store.port';
import { OperatorStreamReader, type OperatorState } from './operator.events';

const accountRow = z.object({ address: z.string() });

/** The process's OperatorAccounts (TreasuryModule), shared by the executor, the ingester and the donations rebuild. */
export const OPERATOR_ACCOUNTS = Symbol('OPERATOR_ACCOUNTS');

/** What the other operator accounts recorded of donations (SPEC §4.5 counts them all). */
export interface DonationsElsewhere {
  readonly donatedRaw: bigint;
  readonly milestonesReachedRaw: ReadonlySet<bigint>;
  /** The other accounts: money they send to this one is the operator's own, never a donation. */
  readonly addresses: ReadonlySet<string>;
  /** For each of them, the payout each payout block it signed stands for (OperatorState.payoutOfBlock). */
  readonly payoutOfBlockBy: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Where the operator seed has only ever named one account. */
export const NO_DONATIONS_ELSEWHERE: DonationsElsewhere = { donatedRaw: 0n, milestonesReachedRaw: new Set(), addresses: new Set(), payoutOfBlockBy: new Map() };

/**
 * Every operator account the ledger signs blocks for (migrations/0019_create_operator_accounts.sql).
 * The operator seed may name another account from one step to the next, while a block the former
 * account signed is still in flight; the payout executor reads the former accounts' streams here
 * and finishes such a block before the current account signs anything for its payout. The donation
 * ingester and the donations rebuild read them for the donations every account recorded, which
 * decide the milestone tiers.
 */
export class OperatorAccounts {
  /** The accounts this process has recorded already. */
  private readonly recorded = new Set<string>();
  /** One reader per former account, each folding its stream on from where it last stopped. */
  private readonly readers = new Map<string, OperatorStreamReader>();

  constructor(
    private readonly pool: DatabasePool,
    private readonly store: EventStore,
  ) {}

  /** Records `address` as an account blocks are signed for. Call it before signing the first. */
  async signingFor(address: string): Promise<void> {
    if (this.recorded.has(address)) return;
    await this.pool.query(sql.unsafe`INSERT INTO operator_accounts (address) VALUES (${address}) ON CONFLICT (address) DO NOTHING`);
    this.recorded.add(address);
  }

  /** The operator streams of every recorded account but `current`, as they are now. */
  async formerThan(current: string): Promise<OperatorState[]> {
    return this.statesOf(await this.addressesBut(current));
  }

  private async addressesBut(current: string): Promise<string[]> {
    const rows = await this.pool.any(sql.type(accountRow)`
      SELECT address FROM operator_accounts WHERE address <> ${current} ORDER BY first_used_at, address`);
    return rows.map((row) => row.address);
  }

  private async statesOf(addresses: readonly string[]): Promise<OperatorState[]> {
    const states: OperatorState[] = [];
    for (const address of addresses) {
      let reader = this.readers.get(address);
      if (reader === undefined) {
        reader = new OperatorStreamReader(this.store);
        this.readers.set(address, reader);
      }
      states.push(await reader.load(address));
    }
    return states;
  }

  /**
   * The donations the accounts but `current` recorded, and the milestone tiers they reached: a tier
   * is reached by the donated total of every account, and recorded once, on whichever account
   * received the donation that reached it.
   */
  async donationsElsewhere(current: string): Promise<DonationsElsewhere> {
    const addresses = await this.addressesBut(current);
    let donatedRaw = 0n;
    const milestonesReachedRaw = new Set<bigint>();
    const payoutOfBlockBy = new Map<string, ReadonlyMap<string, string>>();
    const states = await this.statesOf(addresses);
    states.forEach((operator, index) => {
      donatedRaw += operator.donatedRaw;
      for (const threshold of operator.milestonesReachedRaw) milestonesReachedRaw.add(threshold);
      payoutOfBlockBy.set(addresses[index], operator.payoutOfBlock);
    });
    return { donatedRaw, milestonesReachedRaw, addresses: new Set(addresses), payoutOfBlockBy };
  }
}
