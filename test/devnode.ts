import { startBananoNodeDouble } from './doubles/banano-node.double';

/**
 * `npm run devnode`: the Banano node test double on 127.0.0.1, for pointing a local service at
 * (BANANO_RPC_URL) and watching real signed blocks land. It keeps its chains in memory only.
 * DEVNODE_PORT (default 7072) sets the port; DEVNODE_FUND_ADDRESS with DEVNODE_FUND_BAN (default
 * 100000) leaves a receivable send of that many BAN for the address, e.g. the operator's.
 */
async function main(): Promise<void> {
  const port = Number.parseInt(process.env.DEVNODE_PORT ?? '7072', 10);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error('DEVNODE_PORT must be a port number');
  const node = await startBananoNodeDouble({ port });
  const fundAddress = process.env.DEVNODE_FUND_ADDRESS;
  if (fundAddress !== undefined && fundAddress !== '') {
    const ban = process.env.DEVNODE_FUND_BAN ?? '100000';
    if (!/^\d{1,12}$/.test(ban)) throw new Error('DEVNODE_FUND_BAN must be a whole number of BAN');
    const hash = await node.fund(fundAddress, BigInt(ban) * 10n ** 29n);
    process.stdout.write(`funded ${fundAddress} with ${ban} BAN (receivable send ${hash})\n`);
  }
  process.stdout.write(`Banano node test double listening on ${node.url} (BANANO_RPC_URL=${node.url})\n`);
  const stop = (): void => {
    void node.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`devnode failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
