import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Env, envText, type LedgerConfig } from '../../platform/config/config';
import { type CommandMetadata } from '../../platform/decider';
import { DomainError } from '../../platform/errors/domain-error';
import { InvalidMasterKeyError, looksLikeMasterKey, MasterKey } from './master-key';
import { MASTER_KEY_FILE_NAME, readMasterKeyFile } from './resolve-master-key';
import { type RotationResult, type SecureConfigStore } from './secure-config.store';

/** Where `secure-config rotate` takes its keys from. Keys are never command-line arguments, which `ps` shows. */
export interface RotationKeyOptions {
  /** A file holding the old key (base64 of 32 bytes). */
  readonly oldKeyFile?: string;
  /** A file holding the new key. */
  readonly newKeyFile?: string;
}

export interface RotationKeys {
  readonly oldKey: MasterKey;
  readonly newKey: MasterKey;
  /** Where each key came from, for the command's output (a variable or a path, never a key). */
  readonly oldKeyFrom: string;
  readonly newKeyFrom: string;
}

/** The actor of a rotation: an operator at the command line (SPEC §4.6: every admin command records its actor). */
export function cliMetadata(): CommandMetadata {
  return { correlationId: randomUUID(), causationId: null, actor: { kind: 'admin', name: 'cli' } };
}

/**
 * The two keys of a rotation. The old key: `--old-key-file`, else LEDGER_MASTER_KEY (the key the
 * service runs with), else on the embedded defaults `<dataDir>/master.key`. The new key:
 * `--new-key-file`, else LEDGER_NEW_MASTER_KEY.
 */
export async function rotationKeys(options: RotationKeyOptions, config: LedgerConfig, env: Env): Promise<RotationKeys> {
  const [oldKey, oldKeyFrom] = await oldKeyOf(options, config);
  const [newKey, newKeyFrom] = await newKeyOf(options, env);
  return { oldKey, newKey, oldKeyFrom, newKeyFrom };
}

async function oldKeyOf(options: RotationKeyOptions, config: LedgerConfig): Promise<[MasterKey, string]> {
  if (options.oldKeyFile !== undefined) return [await keyFromFile(options.oldKeyFile, '--old-key-file'), options.oldKeyFile];
  if (config.secureConfig.masterKey !== null) return [config.secureConfig.masterKey, 'LEDGER_MASTER_KEY'];
  if (config.databaseUrl === null && !config.secureConfig.production) {
    const path = join(config.dataDir, MASTER_KEY_FILE_NAME);
    return [await readMasterKeyFile(path), path];
  }
  throw new DomainError('old_master_key_required', 'Give the old master key: --old-key-file <path>, or LEDGER_MASTER_KEY');
}

/**
 * The key in the file `path` names. The key itself given in the path's place (`--new-key-file
 * "$(openssl rand -base64 32)"`) names no file, and the message that says so must not quote it,
 * as a message about a path would: the key would go on to a terminal, a CI log or a ticket.
 */
async function keyFromFile(path: string, option: string): Promise<MasterKey> {
  if (looksLikeMasterKey(path) && !(await isFile(path))) {
    throw new DomainError(
      'invalid_master_key_file',
      `${option} names no file that can be read, and what it was given looks like a master key itself (not shown). ` +
        'Give the path of a file that holds the key (openssl rand -base64 32 > new.key && chmod 600 new.key)',
    );
  }
  return readMasterKeyFile(path);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function newKeyOf(options: RotationKeyOptions, env: Env): Promise<[MasterKey, string]> {
  if (options.newKeyFile !== undefined) return [await keyFromFile(options.newKeyFile, '--new-key-file'), options.newKeyFile];
  const text = envText(env, 'LEDGER_NEW_MASTER_KEY');
  if (text === null) {
    throw new DomainError('new_master_key_required', 'Give the new master key: --new-key-file <path>, or LEDGER_NEW_MASTER_KEY (make one with: openssl rand -base64 32)');
  }
  try {
    return [MasterKey.fromBase64(text, 'LEDGER_NEW_MASTER_KEY'), 'LEDGER_NEW_MASTER_KEY'];
  } catch (error) {
    if (error instanceof InvalidMasterKeyError) throw new DomainError('invalid_master_key', error.message);
    throw error;
  }
}

/**
 * `npm run cli -- secure-config rotate`: every secure_config entry re-encrypted under the new key
 * in one transaction, each recorded as SecureConfigChanged `rotated` by the admin `cli`; refused
 * as a whole, changing nothing, when the old key does not open an entry.
 */
export function rotateSecureConfig(store: SecureConfigStore, keys: Pick<RotationKeys, 'oldKey' | 'newKey'>, now: Date = new Date()): Promise<RotationResult> {
  return store.rotate({ oldKey: keys.oldKey, newKey: keys.newKey, metadata: cliMetadata(), now });
}

/** What the command prints: which entries moved to which key id, and what the operator must do next. */
export function formatRotation(result: RotationResult, keys: Pick<RotationKeys, 'oldKeyFrom' | 'newKeyFrom'>): string {
  const from = `${result.previousKeyId} (${keys.oldKeyFrom})`;
  const to = `${result.keyId} (${keys.newKeyFrom})`;
  const restart = 'give every service and payout worker the new key (LEDGER_MASTER_KEY, or the data-directory master.key on the embedded defaults) and restart them';
  // The old key is retired even when there was nothing to re-encrypt: a rotation is the way to
  // stop a key (one that leaked, say) from sealing a seed, with or without a seed stored yet.
  if (result.rotated.length === 0 && result.alreadyRotated.length === 0) {
    return (
      'secure_config holds no entries: there was nothing to re-encrypt.\n' +
      `Master key ${from} is retired all the same, for ${to}: ${restart}. Until then they cannot store an operator seed.\n`
    );
  }
  const count = `${result.rotated.length} secure_config ${result.rotated.length === 1 ? 'entry' : 'entries'}`;
  const lines = [`Re-encrypted ${count}${result.rotated.length === 0 ? '' : ` (${result.rotated.join(', ')})`} from master key ${from} to ${to}.`];
  if (result.alreadyRotated.length > 0) lines.push(`Already under the new key, left as they were: ${result.alreadyRotated.join(', ')}.`);
  if (result.eventsPending !== null) {
    lines.push(
      `The rotation is committed, but the event store could not take its SecureConfigChanged events (${result.eventsPending}): ` +
        'they wait in the outbox and are appended by the next start-up, change or rotation.',
    );
  }
  lines.push(`Now ${restart}: until then they cannot decrypt the operator seed, and the old key opens no entry any more.`);
  return `${lines.join('\n')}\n`;
}
