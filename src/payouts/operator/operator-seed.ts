import { readFile } from 'node:fs/promises';
import { DomainError } from '../../platform/errors/domain-error';
import { accountFromSeed } from '../banano/state-block';

/**
 * Where the operator seed comes from. The executor and the settlement read it only through this
 * interface, each time they need it, so the seed can be stored or rotated while the service runs
 * and is never held in configuration or logged. The service's source is secure_config, encrypted
 * (PUT /v1/admin/operator-seed), with the seed file as a fallback.
 */
export interface OperatorSeedSource {
  /** The 64-hex-character seed, or null while none is configured. */
  operatorSeed(): Promise<string | null>;
}

/** The seed is configured but cannot be read or is not a seed. The message never quotes it. */
export class OperatorSeedUnreadableError extends Error {
  readonly code = 'operator_seed_unreadable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorSeedUnreadableError';
  }
}

export interface OperatorAccount {
  readonly address: string;
  readonly privateKey: string;
}

/** The operator account is index 0 of the seed, as in every Banano wallet. */
export async function operatorAccount(source: OperatorSeedSource): Promise<OperatorAccount | null> {
  const seed = await source.operatorSeed();
  if (seed === null) return null;
  const { address, privateKey } = await accountFromSeed(seed, 0);
  return { address, privateKey };
}

/**
 * The operator account for a request that cannot go on without one: a missing or unreadable seed
 * is a 503 naming what cannot run (`operator_seed_not_configured`, `operator_seed_unreadable`).
 */
export async function requireOperatorAccount(source: OperatorSeedSource, whatCannotRun: string): Promise<OperatorAccount> {
  let account: OperatorAccount | null;
  try {
    account = await operatorAccount(source);
  } catch (error) {
    if (!(error instanceof OperatorSeedUnreadableError)) throw error;
    throw new DomainError(error.code, `${error.message}; ${whatCannotRun}`, 503);
  }
  if (account === null) {
    throw new DomainError(
      'operator_seed_not_configured',
      `No operator seed is configured: store one with PUT /v1/admin/operator-seed (or point BANANO_OPERATOR_SEED_FILE at one); ${whatCannotRun}`,
      503,
    );
  }
  return account;
}

/**
 * The seed from a file readable by the service alone (BANANO_OPERATOR_SEED_FILE): 64 hex
 * characters, surrounding whitespace ignored. A file that holds anything else is an error whose
 * message never quotes it, nor the file's path: a seed written into the variable by mistake (in
 * a form config.ts cannot tell from a path for sure) would be that path. The service reads it only
 * while secure_config holds no seed (StoredOperatorSeedSource in src/security/secure-config/);
 * tests and the devnode read it directly.
 */
export class FileOperatorSeedSource implements OperatorSeedSource {
  constructor(private readonly path: string | null) {}

  async operatorSeed(): Promise<string | null> {
    if (this.path === null) return null;
    let text: string;
    try {
      text = (await readFile(this.path, 'utf8')).trim();
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
      throw new OperatorSeedUnreadableError(`The operator seed file (BANANO_OPERATOR_SEED_FILE) cannot be read (${reason})`);
    }
    if (!/^[0-9A-Fa-f]{64}$/.test(text)) {
      throw new OperatorSeedUnreadableError('The operator seed file (BANANO_OPERATOR_SEED_FILE) does not hold 64 hexadecimal characters');
    }
    return text.toUpperCase();
  }
}
