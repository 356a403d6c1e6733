import { accountFromSeed } from '../src/payouts/banano/state-block';

/** How many donor accounts the devnode opens, and with how many BAN each. */
export const DEVNODE_DONORS = 3;
export const DEVNODE_DONOR_BAN = 1_000n;

/**
 * Donor `index` of the devnode: a fixed, public test seed ("D0D0…" + the index), so the devnode and
 * `npm run devnode:donate` agree on it without sharing anything. It guards only devnode play money.
 */
export function devnodeDonor(index: number): Promise<{ address: string; privateKey: string }> {
  const seed = `${'D0'.repeat(31)}${index.toString(16).padStart(2, '0')}`.toUpperCase();
  return accountFromSeed(seed, 0);
}
