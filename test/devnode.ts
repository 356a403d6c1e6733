import { accountFromSeed } from '../src/payouts/banano/state-block';
import { FileOperatorSeedSource } from '../src/payouts/operator/operator-seed';
import { formatBan, RAW_PER_BAN } from '../src/platform/money';
import { startBananoNodeDouble } from './doubles/banano-node.double';
import { DEVNODE_DONOR_BAN, DEVNODE_DONORS, devnodeDonor } from './devnode-donors';

/**
 * `npm run devnode`: the Banano node test double on 127.0.0.1, for pointing a local service at
 * (BANANO_RPC_URL) and watching real signed blocks land. It keeps its chains in memory only, so
 * every start begins a new ledger.
 *
 *   DEVNODE_PORT                default 7072
 *   DEVNODE_FUND_BAN            whole BAN each funding below gives, default 100000
 *   DEVNODE_OPERATOR_SEED_FILE  a file holding the 64-hex operator seed, the same file the service
 *                               reads as BANANO_OPERATOR_SEED_FILE. The devnode derives the operator
 *                               account (index 0) and leaves it a receivable send of
 *                               DEVNODE_FUND_BAN from the genesis account. Started with
 *                               TREASURY_FUNDING_ADDRESSES=<genesis>, the service's donation
 *                               ingester pockets it as FundingReceived, so every block of the
 *                               operator's chain is one the ledger recorded. It prints the
 *                               addresses, never the seed.
 *   DEVNODE_FUND_ADDRESS        leaves a receivable send of DEVNODE_FUND_BAN for that address. The
 *                               account stays unopened and cannot spend it until it receives it.
 *                               For an operator seed stored with PUT /v1/admin/operator-seed rather
 *                               than in a file, pass the address GET /v1/admin/operator-seed/status
 *                               shows: the same funding send, recorded as FundingReceived too.
 *
 * It also opens DEVNODE_DONORS donor accounts of fixed, public test seeds with DEVNODE_DONOR_BAN
 * each; `npm run devnode:donate` sends from them.
 */
async function main(): Promise<void> {
  const port = Number.parseInt(process.env.DEVNODE_PORT ?? '7072', 10);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error('DEVNODE_PORT must be a port number');
  const ban = process.env.DEVNODE_FUND_BAN ?? '100000';
  if (!/^\d{1,12}$/.test(ban) || BigInt(ban) === 0n) throw new Error('DEVNODE_FUND_BAN must be a positive whole number of BAN');
  const amountRaw = BigInt(ban) * RAW_PER_BAN;
  // The seed is read and checked before the node listens, so a wrong file never leaves a node
  // running without the operator funds the service would then be missing.
  const seedFile = nonEmpty(process.env.DEVNODE_OPERATOR_SEED_FILE);
  const seed = seedFile === null ? null : await new FileOperatorSeedSource(seedFile).operatorSeed();
  const node = await startBananoNodeDouble({ port });
  if (seed !== null) {
    // Index 0, as operatorAccount derives it, so this is the very account the service signs from.
    const operator = await accountFromSeed(seed, 0);
    const hash = await node.fund(operator.address, amountRaw);
    process.stdout.write(`operator ${operator.address} has a receivable funding send of ${ban} BAN (send ${hash})\n`);
    process.stdout.write(`start the service with TREASURY_FUNDING_ADDRESSES=${node.genesisAddress} so it is recorded as funding\n`);
  }
  const fundAddress = nonEmpty(process.env.DEVNODE_FUND_ADDRESS);
  if (fundAddress !== null) {
    const hash = await node.fund(fundAddress, amountRaw);
    process.stdout.write(`funded ${fundAddress} with ${ban} BAN (receivable send ${hash})\n`);
  }
  for (let index = 0; index < DEVNODE_DONORS; index += 1) {
    const donor = await devnodeDonor(index);
    await node.fundAndOpen(donor.privateKey, DEVNODE_DONOR_BAN * RAW_PER_BAN);
    process.stdout.write(`donor ${index} ${donor.address} holds ${formatBan(node.balanceOf(donor.address))} BAN\n`);
  }
  process.stdout.write(`Banano node test double listening on ${node.url} (BANANO_RPC_URL=${node.url})\n`);
  const stop = (): void => {
    void node.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value.trim();
}

main().catch((error: unknown) => {
  process.stderr.write(`devnode failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
