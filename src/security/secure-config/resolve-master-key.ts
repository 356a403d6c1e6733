import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, type LedgerConfig } from '../../platform/config/config';
import { InvalidMasterKeyError, MasterKey } from './master-key';

/** The generated master key of a development install, beside the embedded PostgreSQL's files. */
export const MASTER_KEY_FILE_NAME = 'master.key';
/** A key file holds 44 characters and a newline; anything much longer is not one. */
const KEY_FILE_BYTES_MAX = 1_024;

/** Where the master key of this process came from, for the start-up log line (never the key). */
export type MasterKeyOrigin = 'environment' | 'generated' | 'data-dir-file' | 'none';

export interface ResolvedMasterKey {
  readonly masterKey: MasterKey | null;
  readonly origin: MasterKeyOrigin;
  /** The key file read or written, for the `generated` and `data-dir-file` origins. */
  readonly path: string | null;
}

/**
 * The key-encryption key of secure_config for this process:
 *
 * - LEDGER_MASTER_KEY when it is set (loadConfig already refused one that is not a key);
 * - else, with NODE_ENV=production, nothing: the start-up is refused (a ConfigError), because a
 *   key generated on a server would sit next to the data it protects, or be lost with the
 *   container;
 * - else, on the embedded defaults (no DATABASE_URL), `<dataDir>/master.key`, generated (mode
 *   0600) on the first start and read on every later one, so `npm start` works with no set-up;
 * - else (an external database, not production) none: the seed store is unavailable, and
 *   `PUT /v1/admin/operator-seed` answers 503 `master_key_not_configured`. A key is not generated
 *   there, because the database may be shared by other hosts that would each make their own.
 */
export async function resolveMasterKey(config: LedgerConfig): Promise<ResolvedMasterKey> {
  refuseProductionWithoutMasterKey(config);
  const { masterKey } = config.secureConfig;
  if (masterKey !== null) return { masterKey, origin: 'environment', path: null };
  if (config.databaseUrl !== null) return { masterKey: null, origin: 'none', path: null };
  const path = join(config.dataDir, MASTER_KEY_FILE_NAME);
  const { key, created } = await loadOrCreateMasterKeyFile(path);
  return { masterKey: key, origin: created ? 'generated' : 'data-dir-file', path };
}

/**
 * The production rule of resolveMasterKey on its own, for a composition root to check before it
 * starts anything (the embedded PostgreSQL, the projector): a ConfigError that says what to do.
 */
export function refuseProductionWithoutMasterKey(config: Pick<LedgerConfig, 'secureConfig'>): void {
  if (!config.secureConfig.production || config.secureConfig.masterKey !== null) return;
  throw new ConfigError(
    'LEDGER_MASTER_KEY is not set. With NODE_ENV=production the service does not start without it: it is the key that ' +
      'encrypts the operator seed in secure_config. Generate one with `openssl rand -base64 32`, keep it outside the database, ' +
      'and set LEDGER_MASTER_KEY to it.',
  );
}

/**
 * The key in `path`, created first when there is none. Creation is atomic: the key is written to a
 * private temporary file and hard-linked into place, which fails when another process got there
 * first; the file that won is then read. So every process on one data directory uses one key.
 */
export async function loadOrCreateMasterKeyFile(path: string): Promise<{ readonly key: MasterKey; readonly created: boolean }> {
  if (await exists(path)) return { key: await readMasterKeyFile(path), created: false };
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const { key, base64 } = MasterKey.generate();
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${base64}\n`, { mode: 0o600, flag: 'wx', flush: true });
    // The umask could only have narrowed the mode; this makes it exactly owner read/write.
    await chmod(temporary, 0o600);
    try {
      await link(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { key: await readMasterKeyFile(path), created: false };
    }
    return { key, created: true };
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** The key in a key file: base64 of 32 bytes, surrounding whitespace ignored. Errors never quote the file. */
export async function readMasterKeyFile(path: string): Promise<MasterKey> {
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(KEY_FILE_BYTES_MAX + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > KEY_FILE_BYTES_MAX) throw new ConfigError(`The master key file ${path} is too long to hold a key`);
      text = buffer.subarray(0, bytesRead).toString('utf8');
      buffer.fill(0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`The master key file ${path} cannot be read (${reason})`);
  }
  try {
    return MasterKey.fromBase64(text, `The master key file ${path}`);
  } catch (error) {
    if (error instanceof InvalidMasterKeyError) throw new ConfigError(error.message);
    throw error;
  }
}

/** True when the file's mode lets anyone but its owner read or write it. */
export async function isLooselyPermitted(path: string): Promise<boolean> {
  return ((await stat(path)).mode & 0o077) !== 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
