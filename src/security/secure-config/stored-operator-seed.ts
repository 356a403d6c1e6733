import { type DatabasePool } from 'slonik';
import { type LedgerConfig } from '../../platform/config/config';
import { type CommandMetadata } from '../../platform/decider';
import { DomainError } from '../../platform/errors/domain-error';
import { accountFromSeed } from '../../payouts/banano/state-block';
import { FileOperatorSeedSource, type OperatorSeedSource, OperatorSeedUnreadableError } from '../../payouts/operator/operator-seed';
import { type MasterKey, SecureConfigDecryptError } from './master-key';
import { resolveMasterKey } from './resolve-master-key';
import { openEntry, SecureConfigEntries, type SecureConfigStore } from './secure-config.store';

/** The secure_config entry of the operator seed. */
export const OPERATOR_SEED_ENTRY = 'operator_seed';
/** A Banano seed: 32 bytes as 64 hexadecimal characters, either case. */
export const SEED_SHAPE = /^[0-9A-Fa-f]{64}$/;

/** What GET /v1/admin/operator-seed/status answers: never the seed. */
export interface OperatorSeedStatus {
  readonly configured: boolean;
  /** The operator account: index 0 of the seed. */
  readonly address: string | null;
  /** The master key the stored seed is encrypted under; null when none is stored (or it is the file's). */
  readonly keyId: string | null;
}

/** A source of the master key, resolved once per process (see resolveMasterKey). */
export type MasterKeySource = () => Promise<MasterKey | null>;

/**
 * The operator seed as payouts, donations and reconciliation read it: secure_config first, read
 * on every call so a PUT takes effect without a restart; the seed file (BANANO_OPERATOR_SEED_FILE)
 * only while secure_config holds no seed, for deployments that have not moved the seed in yet.
 *
 * A stored seed that cannot be used is an error, never a fall back to the file: no master key,
 * another master key (rotated without a restart), or an entry that does not decrypt or does not
 * derive the address stored beside it. So whatever the status reports is what payouts sign with,
 * or nothing is signed.
 */
export class StoredOperatorSeedSource implements OperatorSeedSource {
  constructor(
    private readonly store: SecureConfigEntries,
    private readonly masterKey: MasterKeySource,
    private readonly fallback: OperatorSeedSource | null,
  ) {}

  async operatorSeed(): Promise<string | null> {
    const entry = await this.store.entry(OPERATOR_SEED_ENTRY);
    if (entry === null) return this.fallback === null ? null : this.fallback.operatorSeed();
    const key = await this.masterKey();
    if (key === null) {
      throw new OperatorSeedUnreadableError('secure_config holds an operator seed, but LEDGER_MASTER_KEY is not set to decrypt it');
    }
    if (entry.sealed.keyId !== key.keyId) {
      throw new OperatorSeedUnreadableError(
        `The operator seed in secure_config is encrypted under master key ${entry.sealed.keyId}, but this process holds key ${key.keyId} ` +
          '(after a rotation, restart with the new LEDGER_MASTER_KEY)',
      );
    }
    let bytes: Buffer;
    try {
      bytes = openEntry(entry, key);
    } catch (error) {
      if (!(error instanceof SecureConfigDecryptError)) throw error;
      throw new OperatorSeedUnreadableError(`The operator seed in secure_config cannot be decrypted: ${error.message}`);
    }
    const seed = bytes.toString('hex').toUpperCase();
    bytes.fill(0);
    if (!SEED_SHAPE.test(seed) || (await accountFromSeed(seed, 0)).address !== entry.address) {
      throw new OperatorSeedUnreadableError('The operator seed in secure_config does not derive the address stored beside it');
    }
    return seed;
  }
}

/**
 * The operator seed's status without the seed: the stored entry's address and key id, read
 * without decrypting (so it answers even where no master key is set); while none is stored, the
 * seed file's address, which payouts then use, with a null key id.
 */
export async function operatorSeedStatus(store: SecureConfigEntries, fallback: OperatorSeedSource | null): Promise<OperatorSeedStatus> {
  const entry = await store.entry(OPERATOR_SEED_ENTRY);
  if (entry !== null) return { configured: true, address: entry.address, keyId: entry.sealed.keyId };
  const seed = fallback === null ? null : await fallback.operatorSeed();
  if (seed === null) return { configured: false, address: null, keyId: null };
  return { configured: true, address: (await accountFromSeed(seed, 0)).address, keyId: null };
}

/**
 * Stores `seed` (64 hex characters) as the operator seed, encrypted under `key`, and records
 * SecureConfigChanged `set` with the derived address; the same seed again records nothing.
 * Without a master key nothing can be stored: 503 `master_key_not_configured`.
 */
export async function storeOperatorSeed(input: {
  readonly store: SecureConfigStore;
  readonly key: MasterKey | null;
  readonly seed: string;
  readonly metadata: CommandMetadata;
  readonly now: Date;
}): Promise<{ readonly changed: boolean; readonly address: string; readonly eventsPending: string | null }> {
  if (input.key === null) {
    throw new DomainError(
      'master_key_not_configured',
      'LEDGER_MASTER_KEY is not set, so the operator seed cannot be stored encrypted; set it (openssl rand -base64 32) and restart',
      503,
    );
  }
  if (!SEED_SHAPE.test(input.seed)) throw new DomainError('invalid_seed', 'seed must be 64 hexadecimal characters');
  const { address } = await accountFromSeed(input.seed.toUpperCase(), 0);
  const plaintext = Buffer.from(input.seed, 'hex');
  try {
    const { changed, eventsPending } = await input.store.put({ name: OPERATOR_SEED_ENTRY, plaintext, address, key: input.key, metadata: input.metadata, now: input.now });
    return { changed, address, eventsPending };
  } finally {
    plaintext.fill(0);
  }
}

/**
 * The operator seed source of a composition root (the service, the payout workers, the CLI):
 * secure_config under this process's master key, resolved on first use, with the seed file as
 * the fallback.
 */
export function operatorSeedSourceFromConfig(config: LedgerConfig, pool: DatabasePool): StoredOperatorSeedSource {
  const file = config.banano.operatorSeedFile;
  return new StoredOperatorSeedSource(new SecureConfigEntries(pool), onceResolved(config), file === null ? null : new FileOperatorSeedSource(file));
}

/** The master key resolved once; a failed resolution is tried again on the next call. */
export function onceResolved(config: LedgerConfig): MasterKeySource {
  let resolved: Promise<MasterKey | null> | null = null;
  return () => {
    resolved ??= resolveMasterKey(config).then(
      (result) => result.masterKey,
      (error: unknown) => {
        resolved = null;
        throw error;
      },
    );
    return resolved;
  };
}
