import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../platform/config/config';
import { MasterKey } from './master-key';
import { loadOrCreateMasterKeyFile, MASTER_KEY_FILE_NAME, resolveMasterKey } from './resolve-master-key';

/** Where a process's master key comes from: the environment, a generated data-directory file, or nowhere. */
describe('resolveMasterKey', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-master-key-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const caught = async (work: () => Promise<unknown>): Promise<Error> => {
    try {
      await work();
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a rejection');
  };

  it('on the embedded defaults without LEDGER_MASTER_KEY, generates <dataDir>/master.key with mode 0600 and reuses it on later starts', async () => {
    const config = loadConfig({ LEDGER_DATA_DIR: dataDir });

    const first = await resolveMasterKey(config);
    const second = await resolveMasterKey(config);

    const path = join(dataDir, MASTER_KEY_FILE_NAME);
    expect(first).toMatchObject({ origin: 'generated', path });
    expect(second).toMatchObject({ origin: 'data-dir-file', path });
    expect(second.masterKey?.keyId).toBe(first.masterKey?.keyId);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(MasterKey.fromBase64(await readFile(path, 'utf8'), 'file').keyId).toBe(first.masterKey?.keyId);
    // Nothing but the key file is left behind (no temporary files).
    expect(await readdir(dataDir)).toEqual([MASTER_KEY_FILE_NAME]);
  });

  it('makes one key when several processes start together on one data directory', async () => {
    const path = join(dataDir, 'nested', MASTER_KEY_FILE_NAME);

    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateMasterKeyFile(path)));

    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.key.keyId)).size).toBe(1);
    expect(await readdir(join(dataDir, 'nested'))).toEqual([MASTER_KEY_FILE_NAME]);
  });

  it('uses LEDGER_MASTER_KEY when it is set, and writes no file', async () => {
    const text = randomBytes(32).toString('base64');
    const resolved = await resolveMasterKey(loadConfig({ LEDGER_DATA_DIR: dataDir, LEDGER_MASTER_KEY: text, NODE_ENV: 'production' }));
    expect(resolved).toMatchObject({ origin: 'environment', path: null });
    expect(resolved.masterKey?.keyId).toBe(MasterKey.fromBase64(text, 'test').keyId);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses to start with NODE_ENV=production and no LEDGER_MASTER_KEY, on the embedded defaults as with DATABASE_URL, and writes no file', async () => {
    for (const env of [{ LEDGER_DATA_DIR: dataDir, NODE_ENV: 'production' }, { LEDGER_DATA_DIR: dataDir, NODE_ENV: 'production', DATABASE_URL: 'postgres://db/ledger' }]) {
      const error = await caught(() => resolveMasterKey(loadConfig(env)));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^LEDGER_MASTER_KEY is not set\. With NODE_ENV=production the service does not start without it/);
    }
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('has no key, and generates none, with DATABASE_URL set outside production', async () => {
    const resolved = await resolveMasterKey(loadConfig({ LEDGER_DATA_DIR: dataDir, DATABASE_URL: 'postgres://db/ledger' }));
    expect(resolved).toEqual({ masterKey: null, origin: 'none', path: null });
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a LEDGER_MASTER_KEY that is not base64 of 32 bytes at start-up, without quoting it', () => {
    for (const text of ['not-a-key', randomBytes(16).toString('base64'), randomBytes(32).toString('hex')]) {
      let error: unknown = null;
      try {
        loadConfig({ LEDGER_MASTER_KEY: text });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('LEDGER_MASTER_KEY must be the base64 of exactly 32 random bytes');
      expect((error as Error).message).not.toContain(text);
    }
  });

  it('refuses a data-directory key file that holds no key, or cannot be read, without quoting it', async () => {
    const path = join(dataDir, MASTER_KEY_FILE_NAME);
    const junk = randomBytes(20).toString('hex');
    await writeFile(path, junk, { mode: 0o600 });
    const config = loadConfig({ LEDGER_DATA_DIR: dataDir });

    const corrupt = await caught(() => resolveMasterKey(config));
    await chmod(path, 0o000);
    const unreadable = process.getuid?.() === 0 ? null : await caught(() => resolveMasterKey(config));

    expect(corrupt).toBeInstanceOf(ConfigError);
    expect(corrupt.message).toBe(`The master key file ${path} must be the base64 of exactly 32 random bytes (generate one with: openssl rand -base64 32)`);
    expect(corrupt.message).not.toContain(junk);
    if (unreadable !== null) expect(unreadable.message).toBe(`The master key file ${path} cannot be read (EACCES)`);
  });
});
