import { reverificationFromEnv } from './identity/yunite/reverification.scheduler';
import { yuniteConfigFromEnv } from './identity/yunite/yunite.client';
import { configProblems, type Env, type LedgerConfig, liveOnlyVariablesSet, loadConfig, secureConfigSettings } from './platform/config/config';
import { type Logger } from './platform/logging/logger';
import { refuseProductionWithoutMasterKey } from './security/secure-config/resolve-master-key';

/**
 * The whole environment of a service process, checked before anything starts: the ledger's own
 * variables, the integrations' (Yunite and its re-verification, read where they are wired) and
 * the master key rule of production. Every bad variable is named in one ConfigError.
 */
export function loadServiceConfig(env: Env = process.env): LedgerConfig {
  const problems = configProblems();
  const config = problems.read(() => loadConfig(env));
  problems.read(() => yuniteConfigFromEnv(env));
  problems.read(() => reverificationFromEnv(env));
  // Checked from its own variables, so a missing key is named even when others are bad too.
  const secureConfig = config?.secureConfig ?? problems.read(() => secureConfigSettings(env));
  if (secureConfig !== undefined) problems.read(() => refuseProductionWithoutMasterKey({ secureConfig }));
  problems.done();
  return config;
}

/**
 * A dry run with variables set that only a live gateway reads: each has a default, so it is not
 * refused (BANANO_RPC_AUTH is), but the log says they are unused, in case BANANO_RPC_URL is misspelt.
 */
export function warnOfUnusedLiveVariables(env: Env, logger: Logger): void {
  const variables = liveOnlyVariablesSet(env);
  if (variables.length > 0) logger.warn({ variables }, 'BANANO_RPC_URL is not set: payouts run dry, and these variables of a live run are unused');
}
