import { type LedgerConfig } from '../../platform/config/config';
import { FileOperatorSeedSource, type OperatorSeedSource } from '../operator/operator-seed';
import { BananoRpcClient } from './banano-rpc.client';

export const BANANO_GATEWAY = Symbol('BANANO_GATEWAY');

/** The live side of payouts: the node and the operator seed. Null in dry-run (no BANANO_RPC_URL). */
export interface BananoGateway {
  readonly rpc: BananoRpcClient;
  readonly seeds: OperatorSeedSource;
}

/** Read-only calls are tried this many more times when the node is unavailable or slow. */
const RPC_RETRIES_MAX = 2;

export function bananoGatewayFromConfig(config: LedgerConfig, seeds?: OperatorSeedSource): BananoGateway | null {
  const { rpcUrl, rpcAuthHeader, rpcTimeoutMs, operatorSeedFile } = config.banano;
  if (rpcUrl === null) return null;
  return {
    rpc: new BananoRpcClient({ url: rpcUrl, authHeader: rpcAuthHeader, timeoutMs: rpcTimeoutMs, retriesMax: RPC_RETRIES_MAX }),
    seeds: seeds ?? new FileOperatorSeedSource(operatorSeedFile),
  };
}
