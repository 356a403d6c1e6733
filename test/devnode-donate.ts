import { BananoRpcClient } from '../src/payouts/banano/banano-rpc.client';
import { buildSendBlock, withWork } from '../src/payouts/banano/state-block';
import { isValidBananoAddress } from '../src/platform/banano/banano-address';
import { formatBan, parseBan } from '../src/platform/money';
import { DEVNODE_DONORS, devnodeDonor } from './devnode-donors';

/**
 * `npm run devnode:donate -- <to> <ban> [donor]`: a donation on the running devnode. Donor
 * `donor` (0 by default) signs a send of `ban` BAN to `to` and publishes it over the node's RPC
 * (account_info, work_generate, process), as a wallet would. The operator's ingester then finds it
 * receivable. DEVNODE_PORT as for the devnode.
 */
async function main(): Promise<void> {
  const [to, ban, donorText = '0'] = process.argv.slice(2);
  if (to === undefined || !isValidBananoAddress(to)) throw new Error('usage: npm run devnode:donate -- <ban_ address> <BAN> [donor 0..2]');
  const amountRaw = ban === undefined ? null : parseBan(ban);
  if (amountRaw === null || amountRaw === 0n) throw new Error('the amount must be a positive BAN amount with at most 8 decimals');
  const index = Number.parseInt(donorText, 10);
  if (!(index >= 0 && index < DEVNODE_DONORS)) throw new Error(`the donor must be 0 to ${DEVNODE_DONORS - 1}`);
  const port = Number.parseInt(process.env.DEVNODE_PORT ?? '7072', 10);
  const rpc = new BananoRpcClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5_000, retriesMax: 0 });
  const donor = await devnodeDonor(index);
  const info = await rpc.accountInfo(donor.address);
  if (info === null) throw new Error(`donor ${index} is not opened on this node: is it the devnode?`);
  if (info.balanceRaw < amountRaw) throw new Error(`donor ${index} holds only ${formatBan(info.balanceRaw)} BAN`);
  const { block } = await buildSendBlock({
    privateKey: donor.privateKey,
    previous: info.frontier,
    representative: info.representative,
    balanceBeforeRaw: info.balanceRaw,
    amountRaw,
    destination: to,
  });
  const { hash } = await rpc.process(withWork(block, await rpc.workGenerate(info.frontier)), 'send');
  process.stdout.write(`donor ${index} ${donor.address} sent ${formatBan(amountRaw)} BAN to ${to} (send ${hash})\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`devnode:donate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
