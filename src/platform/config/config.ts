import { isIP } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { FAUCET_CONFIG_BOUNDS } from '../../admin/faucet-config/faucet-config.decider';
import { isValidBananoAddress } from '../banano/banano-address';
import { eventStoreConnectionStringProblem } from '../event-store/eventstoredb-connection-string';
import { DEFAULT_DONATION_GOAL_RAW, DEFAULT_MILESTONES, type MilestoneTier, parseDecimal } from '../../rewards/economics/rate';
import { parseBan, RAW_PER_BAN } from '../money';
import { InvalidMasterKeyError, MasterKey } from '../../security/secure-config/master-key';
import { LANDING_WINDOW_MS } from '../../payouts/banano/unclear-copies';
import { parseFailpoints } from '../runtime/failpoint';
import { projectRoot } from './project-root';

export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');

/** Everything the service reads from its environment. The README lists each variable. */
export interface LedgerConfig {
  readonly port: number;
  readonly host: string;
  /** External PostgreSQL for the read models (and the event store, unless EventStoreDB is set). */
  readonly databaseUrl: string | null;
  readonly eventStoreConnectionString: string | null;
  /** Where the embedded PostgreSQL keeps its files when no DATABASE_URL is set. */
  readonly dataDir: string;
  readonly projector: {
    /** Run the projector inside the API process (the default), or leave it to `start:projector`. */
    readonly inProcess: boolean;
    readonly batchSizeMax: number;
    /**
     * How long a transaction that holds a projection's checkpoint row (a projector's batch, a
     * verify's comparison, a rebuild's swap) may sit idle before the database ends it
     * (PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS): how long a process stalled inside one holds the
     * projectors of that projection back.
     */
    readonly batchIdleTimeoutMs: number;
    /** /ready answers 503 while a projection is further behind than this. */
    readonly readyLagSecondsMax: number;
  };
  readonly http: {
    readonly bodyLimitBytes: number;
    /**
     * How long a request may take to arrive, headers and body (HTTP_REQUEST_TIMEOUT_SECONDS); a
     * request still arriving then is answered 408 `request_timeout` and its connection closed.
     */
    readonly requestTimeoutMs: number;
    /** Upper bound on `?minPosition=` waits (SPEC §5: at most 5 s). */
    readonly minPositionWaitMs: number;
  };
  readonly payout: {
    /** Base reward per kill, raw (PAYOUT_BAN_PER_KILL in BAN, at most 8 decimals). */
    readonly banPerKillRaw: bigint;
    readonly dailyKillCap: number;
    readonly weeklyKillCap: number;
    /** Spendable = confirmed operator balance − this floor (SPEC §4.3). */
    readonly minOperatorBalanceRaw: bigint;
    /** Pay only wallets whose ownership was proven (WalletVerified). */
    readonly requireVerifiedWallet: boolean;
    /** payout.maxAttempts: refused attempts in a row before a payout is failed (SPEC §4.4.5). */
    readonly maxAttempts: number;
    /** The wait after a refused attempt, doubled after each further one, up to the maximum. */
    readonly retryBackoffMs: number;
    readonly retryBackoffMaxMs: number;
  };
  readonly settlement: {
    readonly intervalMs: number;
    /** Users taken per run after the shuffle; 0 takes them all. */
    readonly batchSize: number;
    /** Also run one settlement as soon as the workers start, not only after the first interval. */
    readonly onStart: boolean;
    /** How long a run waits for the read models it plans from to catch up before it gives up. */
    readonly readModelWaitMs: number;
  };
  readonly banano: {
    /** Unset: dry-run, no network (SPEC §4.4). */
    readonly rpcUrl: string | null;
    /** The simulated operator balance of a dry run, before donations and payouts. */
    readonly dryRunBalanceRaw: bigint;
    readonly executorIntervalMs: number;
    /** Sent verbatim as the Authorization header of every RPC call (BANANO_RPC_AUTH); never logged. */
    readonly rpcAuthHeader: string | null;
    readonly rpcTimeoutMs: number;
    /**
     * How long a copy of an operator block published without a clear answer may still land
     * (BANANO_LANDING_WINDOW_SECONDS; see UnclearCopies): a block refused within it stays in flight.
     */
    readonly landingWindowMs: number;
    /** Where the operator seed is read from until it can be stored encrypted (BANANO_OPERATOR_SEED_FILE). */
    readonly operatorSeedFile: string | null;
    /**
     * A block explorer's page of a block, less the hash (BANANO_EXPLORER_BLOCK_URL): the public
     * feed links a live payout's block as this followed by its hash. Kept as written, trailing
     * slash and all, since the hash is appended to it.
     */
    readonly explorerBlockUrl: string;
  };
  readonly treasury: {
    /** Senders whose sends to the operator are FundingReceived, not donations (TREASURY_FUNDING_ADDRESSES). */
    readonly fundingAddresses: readonly string[];
    /** How often the donation ingester pockets receivable sends (live mode only). */
    readonly ingestIntervalMs: number;
  };
  readonly economics: {
    readonly sustainabilityEnabled: boolean;
    readonly seedFundRaw: bigint;
    /** Milestone tiers by total donated, ascending, the first at 0 (ECONOMICS_MILESTONES). */
    readonly milestones: readonly MilestoneTier[];
    /** The donation goal progress is measured against (ECONOMICS_DONATION_GOAL_BAN, default 10000). */
    readonly donationGoalRaw: bigint;
  };
  /** The public dashboard routes (GET /v1/leaderboard, GET /v1/feed). */
  readonly dashboard: {
    /**
     * Show players' Discord ids in full (DASHBOARD_SHOW_DISCORD_IDS). Off by default: a Discord id
     * is personal data, so the public routes show only its last 4 characters.
     */
    readonly showDiscordIds: boolean;
  };
  /** The public dashboard page at `/`: whose it is (PRODUCT_NAME) and its banner (PRODUCT_BANNER_URL). */
  readonly product: {
    readonly name: string;
    /** An absolute http(s) image URL; its origin is the only one the page's CSP lets it load from. */
    readonly bannerUrl: string | null;
  };
  readonly abuse: {
    readonly killRatePerMinute: bigint;
    readonly maxKillsPerObservation: bigint;
  };
  /**
   * Rate limits (SPEC §4.6), counted in memory by each instance: a caller of N instances may make
   * N times as many requests. A limit of 0 switches that limit off.
   */
  readonly rateLimit: {
    /** Requests a valid API key may make per minute (RATE_LIMIT_KEY_PER_MINUTE, default 6000). */
    readonly keyPerMinute: number;
    /** Requests without a valid key (public routes, 401s) per client IP per minute (RATE_LIMIT_IP_PER_MINUTE, default 600). */
    readonly ipPerMinute: number;
    /** Requests are counted in fixed windows of this length, each allowing its share of the per-minute limit. */
    readonly windowSeconds: number;
    /**
     * The proxies whose X-Forwarded-For names the client (HTTP_TRUST_PROXY): a hop count, or a comma
     * list of addresses and CIDR ranges; false trusts none, and the client is the TCP peer.
     */
    readonly trustProxy: false | number | readonly string[];
  };
  /** The Fortnite stats API; null (baselines must be given, no poller) without FORTNITE_STATS_API_KEY. */
  readonly fortniteStats: {
    readonly baseUrl: string;
    readonly apiKey: string;
    readonly timeoutMs: number;
    /** The poller: 0 calls per minute switches it off while baselines are still read. */
    readonly pollCallsPerMinute: number;
    readonly pollIntervalMs: number;
  } | null;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** LOG_FORMAT: json lines, pretty lines, or auto (pretty on a terminal outside production). */
  readonly logFormat: 'json' | 'pretty' | 'auto';
  /** secure_config (SPEC §4.6): the key that encrypts the operator seed; see secureConfigSettings. */
  readonly secureConfig: SecureConfigSettings;
}

/** What is wrong with the environment: every bad variable, one sentence each, never a stack trace. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('; '));
    this.name = 'ConfigError';
    this.problems = list;
  }
}

/**
 * Runs each check and keeps going after a bad variable, so one start-up names all of them.
 * `read` answers the parsed value, or a placeholder that is never used: `done` throws first.
 */
export function configProblems(): { read<T>(parse: () => T): T; done(): void; readonly list: string[] } {
  const list: string[] = [];
  return {
    list,
    read<T>(parse: () => T): T {
      try {
        return parse();
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        // The same rule checked twice (a variable two readers share) is named once.
        list.push(...error.problems.filter((problem) => !list.includes(problem)));
        return undefined as T;
      }
    },
    done() {
      if (list.length > 0) throw new ConfigError(list);
    },
  };
}

export type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): LedgerConfig {
  const dataDir = envText(env, 'LEDGER_DATA_DIR') ?? '.data';
  const logLevel = envText(env, 'LOG_LEVEL') ?? 'info';
  const problems = configProblems();
  const { read } = problems;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    problems.list.push(`LOG_LEVEL must be one of debug, info, warn, error, silent (got ${logLevel})`);
  }
  const logFormat = envText(env, 'LOG_FORMAT') ?? 'auto';
  if (!['json', 'pretty', 'auto'].includes(logFormat)) problems.list.push(`LOG_FORMAT must be json, pretty or auto (got ${logFormat})`);
  const config: LedgerConfig = {
    port: read(() => envInteger(env, 'PORT', 3000, 0, 65_535)),
    host: read(() => listenHost(env, 'HOST')),
    databaseUrl: read(() => databaseUrl(env, 'DATABASE_URL')),
    eventStoreConnectionString: read(() => eventStoreConnectionString(env, 'EVENTSTORE_CONNECTION_STRING')),
    dataDir: isAbsolute(dataDir) ? dataDir : join(projectRoot(), dataDir),
    projector: {
      inProcess: read(() => boolean(env, 'PROJECTOR_IN_PROCESS', true)),
      batchSizeMax: read(() => envInteger(env, 'PROJECTOR_BATCH_SIZE', 500, 1, 10_000)),
      batchIdleTimeoutMs: read(() => envInteger(env, 'PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS', 30, 1, 3_600) * 1000),
      readyLagSecondsMax: read(() => envInteger(env, 'READY_PROJECTION_LAG_SECONDS_MAX', 30, 0, 86_400)),
    },
    http: {
      bodyLimitBytes: read(() => envInteger(env, 'HTTP_BODY_LIMIT_BYTES', 1_048_576, 1_024, 16_777_216)),
      requestTimeoutMs: read(() => envInteger(env, 'HTTP_REQUEST_TIMEOUT_SECONDS', 60, 1, 3_600) * 1_000),
      minPositionWaitMs: read(() => envInteger(env, 'MIN_POSITION_WAIT_MS', 5_000, 0, 5_000)),
    },
    payout: {
      banPerKillRaw: read(() => banPerKill(env, 'PAYOUT_BAN_PER_KILL', '0.05')),
      dailyKillCap: read(() => envInteger(env, 'PAYOUT_DAILY_KILL_CAP', 150, 0, FAUCET_CONFIG_BOUNDS.killCapMax)),
      weeklyKillCap: read(() => envInteger(env, 'PAYOUT_WEEKLY_KILL_CAP', 750, 0, FAUCET_CONFIG_BOUNDS.killCapMax)),
      minOperatorBalanceRaw: read(() => minOperatorBalance(env, 'PAYOUT_MIN_OPERATOR_BALANCE_BAN', '50')),
      requireVerifiedWallet: read(() => boolean(env, 'PAYOUT_REQUIRE_VERIFIED_WALLET', false)),
      maxAttempts: read(() => envInteger(env, 'PAYOUT_MAX_ATTEMPTS', 5, 1, 100)),
      retryBackoffMs: read(() => envInteger(env, 'PAYOUT_RETRY_BACKOFF_SECONDS', 30, 0, 86_400) * 1000),
      retryBackoffMaxMs: read(() => envInteger(env, 'PAYOUT_RETRY_BACKOFF_MAX_SECONDS', 3_600, 0, 604_800) * 1000),
    },
    settlement: {
      intervalMs: read(() => envInteger(env, 'SETTLEMENT_INTERVAL_SECONDS', 1_200, 0, FAUCET_CONFIG_BOUNDS.settlementIntervalSecondsMax) * 1000),
      batchSize: read(() => envInteger(env, 'SETTLEMENT_BATCH_SIZE', 0, 0, FAUCET_CONFIG_BOUNDS.settlementBatchSizeMax)),
      onStart: read(() => boolean(env, 'SETTLEMENT_ON_START', false)),
      readModelWaitMs: read(() => envInteger(env, 'SETTLEMENT_READ_MODEL_WAIT_SECONDS', 30, 1, 600) * 1000),
    },
    banano: {
      rpcUrl: read(() => envText(env, 'BANANO_RPC_URL') === null ? null : envUrl(env, 'BANANO_RPC_URL', '', { credentialsHint: '; send credentials with BANANO_RPC_AUTH' })),
      dryRunBalanceRaw: read(() => ban(env, 'BANANO_DRY_RUN_BALANCE_BAN', '10000')),
      executorIntervalMs: read(() => envInteger(env, 'PAYOUT_EXECUTOR_INTERVAL_MS', 1_000, 50, 3_600_000)),
      rpcAuthHeader: read(() => rpcAuthHeader(env, 'BANANO_RPC_AUTH')),
      rpcTimeoutMs: read(() => envInteger(env, 'BANANO_RPC_TIMEOUT_MS', 10_000, 100, 300_000)),
      landingWindowMs: read(() => envInteger(env, 'BANANO_LANDING_WINDOW_SECONDS', LANDING_WINDOW_MS / 1000, 5, 86_400) * 1000),
      operatorSeedFile: read(() => seedFilePath(env, 'BANANO_OPERATOR_SEED_FILE')),
      explorerBlockUrl: read(() => envUrlPrefix(env, 'BANANO_EXPLORER_BLOCK_URL', 'https://creeper.banano.cc/hash/')),
    },
    treasury: {
      fundingAddresses: read(() => bananoAddressList(env, 'TREASURY_FUNDING_ADDRESSES')),
      ingestIntervalMs: read(() => envInteger(env, 'TREASURY_INGEST_INTERVAL_MS', 30_000, 1_000, 86_400_000)),
    },
    economics: {
      sustainabilityEnabled: read(() => boolean(env, 'ECONOMICS_SUSTAINABILITY', true)),
      seedFundRaw: read(() => ban(env, 'ECONOMICS_SEED_FUND_BAN', '1336')),
      milestones: read(() => milestoneTiers(env, 'ECONOMICS_MILESTONES')),
      donationGoalRaw: read(() => positiveBan(env, 'ECONOMICS_DONATION_GOAL_BAN', DEFAULT_DONATION_GOAL_RAW)),
    },
    dashboard: {
      showDiscordIds: read(() => boolean(env, 'DASHBOARD_SHOW_DISCORD_IDS', false)),
    },
    product: {
      name: read(() => productName(env, 'PRODUCT_NAME')),
      bannerUrl: read(() => bannerUrl(env, 'PRODUCT_BANNER_URL')),
    },
    abuse: {
      killRatePerMinute: read(() => BigInt(envInteger(env, 'ABUSE_KILL_RATE_PER_MINUTE', 10, 1, 1_000_000))),
      maxKillsPerObservation: read(() => BigInt(envInteger(env, 'ABUSE_MAX_KILLS_PER_OBSERVATION', 500, 1, 1_000_000))),
    },
    rateLimit: {
      keyPerMinute: read(() => envInteger(env, 'RATE_LIMIT_KEY_PER_MINUTE', 6_000, 0, 10_000_000)),
      ipPerMinute: read(() => envInteger(env, 'RATE_LIMIT_IP_PER_MINUTE', 600, 0, 10_000_000)),
      windowSeconds: read(() => envInteger(env, 'RATE_LIMIT_WINDOW_SECONDS', 60, 1, 3_600)),
      trustProxy: read(() => trustProxy(env, 'HTTP_TRUST_PROXY')),
    },
    fortniteStats: read(() => fortniteStats(env)),
    logLevel: logLevel as LedgerConfig['logLevel'],
    logFormat: logFormat as LedgerConfig['logFormat'],
    secureConfig: read(() => secureConfigSettings(env)),
  };
  read(() => retryBackoffWithinMax(env, config.payout));
  read(() => failpoints(env, 'LEDGER_FAILPOINTS'));
  problems.done();
  return config;
}

export interface SecureConfigSettings {
  /** LEDGER_MASTER_KEY, base64 of 32 bytes; a MasterKey never prints its bytes. Null when unset. */
  readonly masterKey: MasterKey | null;
  /** NODE_ENV=production: a missing master key is refused at start-up, never generated. */
  readonly production: boolean;
}

/** A LEDGER_MASTER_KEY that is set but not a key stops the start-up; the message never quotes it. */
export function secureConfigSettings(env: Env): SecureConfigSettings {
  const text = envText(env, 'LEDGER_MASTER_KEY');
  let masterKey: MasterKey | null = null;
  try {
    masterKey = text === null ? null : MasterKey.fromBase64(text, 'LEDGER_MASTER_KEY');
  } catch (error) {
    if (error instanceof InvalidMasterKeyError) throw new ConfigError(error.message);
    throw error;
  }
  return { masterKey, production: nodeEnv(env) === 'production' };
}

const NODE_ENVS = ['production', 'development', 'test'];

/**
 * NODE_ENV, refused when it reads as one of the usual three without being written as it: only
 * `production` turns the production rules on, so `Production` or `prod` would have started a
 * service with those rules off (a master key generated beside its data) without a word.
 */
function nodeEnv(env: Env): string | null {
  const value = envText(env, 'NODE_ENV');
  if (value === null || NODE_ENVS.includes(value)) return value;
  const lower = value.toLowerCase();
  if (NODE_ENVS.includes(lower) || lower === 'prod' || lower === 'dev') {
    throw new ConfigError(`NODE_ENV must be written production, development or test, in lower case, when it means one of them (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A host name's labels: letters, digits and inner hyphens, at most 63 characters each (RFC 1123). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The interface to listen on. Anything else (a port or a scheme in it, a typo) would be found only
 * by listen(), after the migrations, the projector and the integrations had started.
 */
function listenHost(env: Env, name: string): string {
  const value = envText(env, name) ?? '127.0.0.1';
  if (isIP(value) === 0 && !HOST_NAME.test(value)) {
    throw new ConfigError(`${name} must be an IP address or a host name, without a port or a scheme (got ${value})`);
  }
  return value;
}

/** Funding addresses are few; a long list is a mistake in the environment, not a use. */
const FUNDING_ADDRESSES_MAX = 100;

/** A comma list of valid ban_ addresses, without duplicates; empty when unset. */
function bananoAddressList(env: Env, name: string): readonly string[] {
  const value = envText(env, name);
  if (value === null) return [];
  const addresses = [...new Set(value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))];
  if (addresses.length > FUNDING_ADDRESSES_MAX) throw new ConfigError(`${name} lists more than ${FUNDING_ADDRESSES_MAX} addresses`);
  for (const address of addresses) {
    if (!isValidBananoAddress(address)) throw new ConfigError(`${name} holds an invalid Banano address (got ${address})`);
  }
  return addresses;
}

const MILESTONES_MAX = 50;
const MILESTONE_NAME_MAX = 60;
/**
 * A multiplier scales the per-kill rate (SPEC §4.5): one of 0 would pay no kill at all, so it is
 * refused, while one below 1 is a policy. One above this is a typo, not a policy, and the bound
 * keeps every amount within its columns (SPEC §2): ×4 × 2.0 × 1000 BAN per kill (the most
 * banPerKill may be) × 10^6 kills (the most one observation or one payout covers) is 8 × 10^9 BAN,
 * below the 10^10 BAN of NUMERIC(18,8); at ×5 it would reach it, and the accruals projection would
 * stop for good on the AccrualRecorded ("numeric field overflow"). 10^7 lifetime kills of one
 * account at that rate are 8 × 10^39 raw, within NUMERIC(40,0).
 */
const MILESTONE_MULTIPLIER_MAX = 4n;

/**
 * Milestone tiers as `thresholdBan:multiplier:name` entries separated by `;`, e.g.
 * `0:1.00:Fresh Spawn;100:1.05:First Blood`. Thresholds ascend from 0; a multiplier is a decimal
 * with at most 4 decimals. Unset: the SPEC §4.5 tiers.
 */
function milestoneTiers(env: Env, name: string): readonly MilestoneTier[] {
  const value = envText(env, name);
  if (value === null) return DEFAULT_MILESTONES;
  const entries = value.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0 || entries.length > MILESTONES_MAX) throw new ConfigError(`${name} must list 1 to ${MILESTONES_MAX} tiers`);
  const tiers = entries.map((entry): MilestoneTier => {
    const match = /^([0-9]+(?:\.[0-9]{1,8})?):([0-9]{1,3}(?:\.[0-9]{1,4})?):(.+)$/.exec(entry);
    const thresholdRaw = match === null ? null : parseBan(match[1]);
    const tierName = match?.[3].trim() ?? '';
    if (match === null || thresholdRaw === null || tierName === '' || tierName.length > MILESTONE_NAME_MAX) {
      throw new ConfigError(`${name} entries must be thresholdBan:multiplier:name, e.g. 100:1.05:First Blood (got ${entry})`);
    }
    const multiplier = parseDecimal(match[2]);
    if (multiplier.numerator === 0n || multiplier.numerator > MILESTONE_MULTIPLIER_MAX * multiplier.denominator) {
      throw new ConfigError(`${name} multipliers must be above 0 and at most ${MILESTONE_MULTIPLIER_MAX} (got ${entry})`);
    }
    return { thresholdRaw, multiplier: match[2], name: tierName };
  });
  if (tiers[0].thresholdRaw !== 0n) throw new ConfigError(`${name} must start with a tier at 0 BAN`);
  for (let index = 1; index < tiers.length; index += 1) {
    if (tiers[index].thresholdRaw <= tiers[index - 1].thresholdRaw) throw new ConfigError(`${name} thresholds must ascend`);
  }
  return tiers;
}

function positiveBan(env: Env, name: string, fallbackRaw: bigint): bigint {
  const value = envText(env, name);
  if (value === null) return fallbackRaw;
  const raw = parseBan(value);
  if (raw === null || raw === 0n) throw new ConfigError(`${name} must be a positive BAN amount with at most 8 decimals (got ${value})`);
  return raw;
}

/** A product name is a title, not a text. */
const PRODUCT_NAME_LENGTH_MAX = 60;

/** The dashboard's title: 1 to 60 characters, none of them control characters; "Pay2Slay" when unset. */
function productName(env: Env, name: string): string {
  const value = envText(env, name) ?? 'Pay2Slay';
  if ([...value].length > PRODUCT_NAME_LENGTH_MAX || /[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    throw new ConfigError(`${name} must be 1 to ${PRODUCT_NAME_LENGTH_MAX} characters without control characters`);
  }
  return value;
}

const BANNER_URL_LENGTH_MAX = 2_048;

/** A domain name (letters, digits, dots and hyphens) or an IPv6 address in brackets, as parsed by URL. */
const PLAIN_HOST = /^([a-z0-9-]+\.)*[a-z0-9-]+\.?$|^\[[0-9a-f:.]+\]$/;

/**
 * The dashboard's banner image: a public URL (see publicUrl), or null. Its origin goes into the
 * page's Content-Security-Policy header, so its host must be a plain one: URL accepts `;` and `,`
 * in a host (also percent-encoded), which there would end the directive or the policy.
 */
function bannerUrl(env: Env, name: string): string | null {
  const value = envText(env, name);
  if (value === null) return null;
  const url = new URL(publicUrl(name, value, BANNER_URL_LENGTH_MAX));
  if (!PLAIN_HOST.test(url.hostname)) throw new ConfigError(`${name} must name its host as a domain name or an IP address (got ${url.hostname})`);
  return value;
}

/** Forwarding proxies are one or two hops; a longer chain is a mistake in the environment. */
const TRUST_PROXY_HOPS_MAX = 10;
const TRUST_PROXY_ENTRIES_MAX = 100;

/**
 * Which X-Forwarded-For entries to believe. `true` (trust every hop) is refused: a client could
 * then name any address it likes and step out of its per-IP rate limit.
 */
function trustProxy(env: Env, name: string): LedgerConfig['rateLimit']['trustProxy'] {
  const value = envText(env, name);
  if (value === null || value.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(value)) return envInteger(env, name, 0, 1, TRUST_PROXY_HOPS_MAX);
  const entries = [...new Set(value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))];
  const valid = (entry: string): boolean => {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  };
  if (entries.length === 0 || entries.length > TRUST_PROXY_ENTRIES_MAX || !entries.every(valid)) {
    throw new ConfigError(`${name} must be a hop count (1 to ${TRUST_PROXY_HOPS_MAX}) or a comma list of IP addresses and CIDR ranges (got ${value})`);
  }
  return entries;
}

/** Its variables are checked with the key unset too: a bad one is named now, not once the key is set. */
function fortniteStats(env: Env): LedgerConfig['fortniteStats'] {
  const apiKey = envText(env, 'FORTNITE_STATS_API_KEY');
  const { read, done } = configProblems();
  const stats = {
    baseUrl: read(() => envUrl(env, 'FORTNITE_STATS_BASE_URL', 'https://fortnite-api.com', { pathsAppended: true })),
    timeoutMs: read(() => envInteger(env, 'FORTNITE_STATS_TIMEOUT_MS', 5_000, 100, 120_000)),
    pollCallsPerMinute: read(() => envInteger(env, 'STATS_POLL_CALLS_PER_MINUTE', 30, 0, 10_000)),
    pollIntervalMs: read(() => envInteger(env, 'STATS_POLL_INTERVAL_SECONDS', 60, 1, 86_400)) * 1000,
  };
  done();
  return apiKey === null ? null : { ...stats, apiKey };
}

/**
 * The node's Authorization header. Without BANANO_RPC_URL it would go unused while payouts run
 * dry, most likely because the URL's variable is misspelt: refused, the header never quoted.
 */
function rpcAuthHeader(env: Env, name: string): string | null {
  const value = envText(env, name);
  if (value !== null && envText(env, 'BANANO_RPC_URL') === null) {
    throw new ConfigError(`${name} is set but BANANO_RPC_URL is not, so payouts would run dry and the header go unused: set BANANO_RPC_URL, or unset ${name} (not shown)`);
  }
  return value;
}

/**
 * Variables that only a live gateway reads, besides BANANO_RPC_AUTH. One set in a dry run is only
 * warned of: the first three are shown with their defaults in .env.example, which may be copied
 * whole, and funding addresses may well be set ahead of going live.
 */
const LIVE_ONLY_VARIABLES = ['BANANO_RPC_TIMEOUT_MS', 'BANANO_LANDING_WINDOW_SECONDS', 'TREASURY_INGEST_INTERVAL_MS', 'TREASURY_FUNDING_ADDRESSES'];

/** The live-only variables set while BANANO_RPC_URL is not, for a start-up warning. */
export function liveOnlyVariablesSet(env: Env): string[] {
  if (envText(env, 'BANANO_RPC_URL') !== null) return [];
  return LIVE_ONLY_VARIABLES.filter((name) => envText(env, name) !== null);
}

/**
 * The first wait after a refused payout attempt may not exceed the longest: the longest would cap
 * every wait, the first among them, and the first set would go unused without a word. Checked only
 * when both were read (a bad one is named by itself), naming the first's default when it is unset.
 */
function retryBackoffWithinMax(env: Env, payout: Pick<LedgerConfig['payout'], 'retryBackoffMs' | 'retryBackoffMaxMs'>): void {
  const { retryBackoffMs, retryBackoffMaxMs } = payout;
  if (typeof retryBackoffMs !== 'number' || typeof retryBackoffMaxMs !== 'number' || retryBackoffMs <= retryBackoffMaxMs) return;
  const shown = (name: string, ms: number): string => `${name} (${ms / 1000}${envText(env, name) === null ? ', its default' : ''})`;
  throw new ConfigError(
    `${shown('PAYOUT_RETRY_BACKOFF_SECONDS', retryBackoffMs)} is above ${shown('PAYOUT_RETRY_BACKOFF_MAX_SECONDS', retryBackoffMaxMs)}: ` +
      `every wait would be ${retryBackoffMaxMs / 1000} s. Lower the first, or raise the longest`,
  );
}

/**
 * The crash tests' hook (src/platform/runtime/failpoint.ts), checked here so that a value it
 * cannot read stops the start-up like any bad variable: its module reads it on first use only.
 */
function failpoints(env: Env, name: string): void {
  const value = envText(env, name);
  if (value !== null && parseFailpoints(value) === null) throw new ConfigError(`${name} must be a comma list of name or name@n, n from 1 (got ${value})`);
}

export function envText(env: Env, name: string): string | null {
  const value = env[name];
  return value === undefined || value.trim() === '' ? null : value.trim();
}

export function envInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = envText(env, name);
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number (got ${value})`);
  const parsed = Number.parseInt(value, 10);
  if (parsed < min || parsed > max) throw new ConfigError(`${name} must be between ${min} and ${max} (got ${value})`);
  return parsed;
}

/**
 * The base reward per kill, within the bounds an admin may set it to (PUT /v1/admin/config/payout):
 * above 0 and at most FAUCET_CONFIG_BOUNDS.banPerKillRawMax.
 */
function banPerKill(env: Env, name: string, fallback: string): bigint {
  const raw = ban(env, name, fallback);
  const max = FAUCET_CONFIG_BOUNDS.banPerKillRawMax;
  if (raw <= 0n || raw > max) throw new ConfigError(`${name} must be above 0 and at most ${max / RAW_PER_BAN} BAN (got ${envText(env, name)})`);
  return raw;
}

/** The operator balance floor, within the bounds an admin may set it to (PUT /v1/admin/config/payout). */
function minOperatorBalance(env: Env, name: string, fallback: string): bigint {
  const raw = ban(env, name, fallback);
  const max = FAUCET_CONFIG_BOUNDS.minOperatorBalanceRawMax;
  if (raw > max) throw new ConfigError(`${name} must be at most ${max / RAW_PER_BAN} BAN (got ${envText(env, name)})`);
  return raw;
}

function ban(env: Env, name: string, fallback: string): bigint {
  const value = envText(env, name) ?? fallback;
  const raw = parseBan(value);
  if (raw === null) throw new ConfigError(`${name} must be a BAN amount with at most 8 decimals (got ${value})`);
  return raw;
}

/**
 * A PostgreSQL connection URL (postgres://, postgresql://, or socket: for a Unix socket). It may
 * hold a password, so a message about it never quotes it.
 */
function databaseUrl(env: Env, name: string): string | null {
  const value = envText(env, name);
  if (value === null) return null;
  const protocol = URL.canParse(value) ? new URL(value).protocol : null;
  if (protocol !== 'postgres:' && protocol !== 'postgresql:' && protocol !== 'socket:') {
    throw new ConfigError(`${name} must be a postgres://user:password@host:port/database URL (not shown: it may hold a password)`);
  }
  if (namesPortZero(new URL(value))) throw new ConfigError(`${name} ${PORT_RULE} (not shown: it may hold a password)`);
  return value;
}

/** An EventStoreDB connection string the client reads as written; it may hold a password. */
function eventStoreConnectionString(env: Env, name: string): string | null {
  const value = envText(env, name);
  const problem = value === null ? null : eventStoreConnectionStringProblem(value);
  if (problem !== null) throw new ConfigError(`${name} ${problem}`);
  return value;
}

export interface UrlOptions {
  /** Where a user name or password belongs instead, appended to the refusal. */
  readonly credentialsHint?: string;
  /**
   * The URL is a base that request paths are appended to as text, so a query or fragment in it
   * would swallow every path: refused. Its trailing slashes are left out, since each path brings
   * its own. Without this the URL is used as written.
   */
  readonly pathsAppended?: boolean;
}

/**
 * An absolute http(s) URL. A node's or an API's URL may carry credentials (user:password@, a
 * ?key= or ?token=), so one refused is quoted only when it holds neither an @ nor a query.
 * A user name or password in it is refused: fetch refuses every request to such a URL, and its
 * error quotes the URL, password and all. A base URL (`pathsAppended`) loses its trailing
 * slashes; any other is kept as written, since it is requested as it is.
 */
export function envUrl(env: Env, name: string, fallback: string, options: UrlOptions = {}): string {
  const value = envText(env, name) ?? fallback;
  const shown = /[@?]/.test(value) ? 'not shown: it may hold a password or a key' : `got ${value}`;
  const url = URL.canParse(value) ? new URL(value) : null;
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigError(`${name} must be an absolute http(s) URL (${shown})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${name} must not carry a user name or password (not shown)${options.credentialsHint ?? ''}`);
  }
  if (namesPortZero(url)) throw new ConfigError(`${name} ${PORT_RULE} (${shown})`);
  if (options.pathsAppended === true && (url.search !== '' || url.hash !== '' || /[?#]/.test(value))) {
    throw new ConfigError(`${name} must not end in a query or a fragment, since paths are appended to it (not shown)`);
  }
  return options.pathsAppended === true ? value.replace(/\/+$/, '') : value;
}

/** A block explorer's URL is short; a long one is a mistake in the environment. */
const URL_PREFIX_LENGTH_MAX = 512;

/**
 * The path of a file holding the operator seed. The seed itself put there by mistake (64
 * hexadecimal characters, bare, with 0x, in quotes as an env file may keep them, or followed by a
 * comment) is refused at start-up without being quoted. No message about the file quotes its path
 * either (FileOperatorSeedSource), whatever form such a mistake takes.
 */
const SEED_LIKE_PATH = /^["']?(0[xX])?[0-9A-Fa-f]{64}(["'\s#]|$)/;

function seedFilePath(env: Env, name: string): string | null {
  const value = envText(env, name);
  if (value !== null && SEED_LIKE_PATH.test(value)) {
    throw new ConfigError(`${name} must name a file that holds the seed, and looks like the seed itself (not shown)`);
  }
  return value;
}

/**
 * An absolute http(s) URL that something is appended to (a block hash), kept as written: unlike
 * a base URL of envUrl, a trailing slash stays, since it separates the prefix from what follows. A
 * query (`?hash=`) or fragment (`#/block/`) may end it. It is published in every link (see
 * publicUrl).
 */
function envUrlPrefix(env: Env, name: string, fallback: string): string {
  return publicUrl(name, envText(env, name) ?? fallback, URL_PREFIX_LENGTH_MAX);
}

/**
 * A URL published on the public dashboard (a banner image, a block explorer link): an absolute
 * http(s) URL, kept as written. A user name or password would be published with it, so they are
 * refused, and checked first so that no message quotes a password. Whitespace, quotes, angle
 * brackets, backslashes and backticks are refused too: the page puts it in an attribute.
 */
function publicUrl(name: string, value: string, lengthMax: number): string {
  const url = URL.canParse(value) ? new URL(value) : null;
  if (url !== null && (url.username !== '' || url.password !== '')) throw new ConfigError(`${name} must not carry a user name or password`);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:') || value.length > lengthMax || /[\s"'<>\\`]/.test(value)) {
    throw new ConfigError(`${name} must be an absolute http(s) URL of at most ${lengthMax} characters, without spaces, quotes or angle brackets (got ${value})`);
  }
  if (namesPortZero(url)) throw new ConfigError(`${name} ${PORT_RULE} (got ${value})`);
  return value;
}

const PORT_RULE = 'must name a port from 1 to 65535, or none';

/**
 * WHATWG URL refuses a port past 65535 or not a number, but takes port 0 (`:0`, `:00`), which no
 * server listens on: each request would fail, and only once it is made, not at start-up.
 */
function namesPortZero(url: URL): boolean {
  return url.port === '0';
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = envText(env, name);
  if (value === null) return fallback;
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false (got ${value})`);
}
