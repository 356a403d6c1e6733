import { type LedgerConfig } from '../../platform/config/config';
import { FileOperatorSeedSource, type OperatorSeedSource } from '../operator/operator-seed';
import { type BananoRpcCall, BananoRpcClient } from './banano-rpc.client';

export const BANANO_GATEWAY = Symbol('BANANO_GATEWAY');

/** The live side of payouts: the node and the operator seed. Null in dry-run (no BANANO_RPC_URL). */
export interface BananoGateway {
  readonly rpc: BananoRpcClient;
  /** The same node for /ready: one try, a short timeout, so a probe never hangs on a dead node. */
  readonly probe: BananoRpcClient;
  readonly seeds: OperatorSeedSource;
  /** Told of every call either client makes; the application's metrics watch the node through it. */
  readonly observers: BananoRpcObservers;
}

/**
 * The gateway is built by the composition root before the application whose metrics watch it,
 * so its clients report to this list, which the application joins when it starts and leaves
 * when it stops.
 */
export class BananoRpcObservers {
  private readonly observers = new Set<(call: BananoRpcCall) => void>();

  /** Adds `observer`; the function returned removes it. */
  add(observer: (call: BananoRpcCall) => void): () => void {
    this.observers.add(observer);
    return () => {
      this.observers.delete(observer);
    };
  }

  notify(call: BananoRpcCall): void {
    for (const observer of this.observers) observer(call);
  }
}

/** Read-only calls are tried this many more times when the node is unavailable or slow. */
const RPC_RETRIES_MAX = 2;
/** The longest a readiness probe waits for the node. */
const PROBE_TIMEOUT_MAX_MS = 2_000;

/**
 * The gateway when BANANO_RPC_URL is set. `seeds` is the operator seed source; the composition
 * roots pass secure_config's (operatorSeedSourceFromConfig, with the seed file as its fallback).
 * Without one, the gateway reads BANANO_OPERATOR_SEED_FILE alone, as before secure_config.
 */
export function bananoGatewayFromConfig(config: LedgerConfig, seeds?: OperatorSeedSource): BananoGateway | null {
  const { rpcUrl, rpcAuthHeader, rpcTimeoutMs, operatorSeedFile } = config.banano;
  if (rpcUrl === null) return null;
  const observers = new BananoRpcObservers();
  const observe = (call: BananoRpcCall): void => observers.notify(call);
  return {
    rpc: new BananoRpcClient({ url: rpcUrl, authHeader: rpcAuthHeader, timeoutMs: rpcTimeoutMs, retriesMax: RPC_RETRIES_MAX, observe }),
    probe: new BananoRpcClient({ url: rpcUrl, authHeader: rpcAuthHeader, timeoutMs: Math.min(rpcTimeoutMs, PROBE_TIMEOUT_MAX_MS), retriesMax: 0, observe }),
    seeds: seeds ?? new FileOperatorSeedSource(operatorSeedFile),
    observers,
  };
}
