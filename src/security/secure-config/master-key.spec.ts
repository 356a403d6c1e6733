import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { InvalidMasterKeyError, MasterKey, SecureConfigDecryptError } from './master-key';

/** The master key in memory: AES-256-GCM, a key id that names it without revealing it, and no way to print it. */
describe('MasterKey', () => {
  const base64 = randomBytes(32).toString('base64');
  const key = MasterKey.fromBase64(base64, 'LEDGER_MASTER_KEY');
  const name = Buffer.from('operator_seed');
  const secret = randomBytes(32);

  it('derives a 16-hex key id from the key under a domain prefix: stable, distinct per key, not a plain hash of it', () => {
    const bytes = Buffer.from(base64, 'base64');
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(MasterKey.fromBase64(base64, 'again').keyId).toBe(key.keyId);
    expect(MasterKey.fromBase64(randomBytes(32).toString('base64'), 'other').keyId).not.toBe(key.keyId);
    expect(createHash('sha256').update(bytes).digest('hex')).not.toContain(key.keyId);
    expect(bytes.toString('hex')).not.toContain(key.keyId);
  });

  it.each([
    ['empty', ''],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['hex of 32 bytes', randomBytes(32).toString('hex')],
    ['base64url alphabet', `${'-'.repeat(43)}=`],
    ['non-canonical last character', `${'A'.repeat(42)}B=`],
    ['spaces inside', `${base64.slice(0, 20)} ${base64.slice(20)}`],
  ])('refuses %s as a key, naming the source and never the text', (_case, text) => {
    let caught: unknown = null;
    try {
      MasterKey.fromBase64(text, 'LEDGER_MASTER_KEY');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidMasterKeyError);
    expect((caught as Error).message).toMatch(/^LEDGER_MASTER_KEY must be the base64 of exactly 32 random bytes/);
    if (text !== '') expect((caught as Error).message).not.toContain(text);
  });

  it('takes a key with surrounding whitespace (a file with a newline) and without padding', () => {
    expect(MasterKey.fromBase64(`  ${base64}\n`, 'file').keyId).toBe(key.keyId);
    expect(MasterKey.fromBase64(base64.replace(/=$/, ''), 'file').keyId).toBe(key.keyId);
  });

  it('seals with a fresh 96-bit nonce and a 128-bit tag, and opens what it sealed', () => {
    const first = key.seal(secret, name);
    const second = key.seal(secret, name);
    expect(first.nonce).toHaveLength(12);
    expect(first.authTag).toHaveLength(16);
    expect(first.keyId).toBe(key.keyId);
    expect(first.nonce.equals(second.nonce)).toBe(false);
    expect(first.ciphertext.equals(second.ciphertext)).toBe(false);
    expect(first.ciphertext.includes(secret)).toBe(false);
    expect(key.open(first, name, 'the entry').equals(secret)).toBe(true);
  });

  it('refuses to open a value whose ciphertext, tag, nonce or associated data was altered, or that another key sealed', () => {
    const sealed = key.seal(secret, name);
    const flipped = (buffer: Buffer, index = 0): Buffer => {
      const copy = Buffer.from(buffer);
      copy[index] ^= 0x01;
      return copy;
    };
    const other = MasterKey.fromBase64(randomBytes(32).toString('base64'), 'other');
    const attempts: Array<() => Buffer> = [
      () => key.open({ ...sealed, ciphertext: flipped(sealed.ciphertext, 5) }, name, 'the entry'),
      () => key.open({ ...sealed, authTag: flipped(sealed.authTag) }, name, 'the entry'),
      () => key.open({ ...sealed, nonce: flipped(sealed.nonce) }, name, 'the entry'),
      () => key.open(sealed, Buffer.from('operator_seed_renamed'), 'the entry'),
      () => key.open({ ...sealed, authTag: sealed.authTag.subarray(0, 12) }, name, 'the entry'),
      () => other.open(sealed, name, 'the entry'),
      // A value claiming the other key's id still does not open under it.
      () => other.open({ ...sealed, keyId: other.keyId }, name, 'the entry'),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(SecureConfigDecryptError);
      try {
        attempt();
      } catch (error) {
        expect((error as Error).message).not.toContain(base64);
        expect((error as Error).message).not.toContain(secret.toString('hex'));
      }
    }
  });

  it('never shows its bytes: JSON, inspect, string conversion and the own properties hold the key id alone', () => {
    const bytes = Buffer.from(base64, 'base64');
    const shown = [JSON.stringify({ key }), inspect(key, { showHidden: true, depth: 5 }), String(key), `${key}`, JSON.stringify(Object.entries(key))];
    for (const text of shown) {
      expect(text).toContain(key.keyId);
      expect(text).not.toContain(base64);
      expect(text).not.toContain(bytes.toString('hex'));
      expect(text).not.toContain(bytes.toString('base64url'));
    }
    expect(Object.keys(key)).toEqual(['keyId']);
  });

  it('generates random keys and gives their base64 once, for the key file', () => {
    const { key: generated, base64: text } = MasterKey.generate();
    expect(MasterKey.fromBase64(text, 'file').keyId).toBe(generated.keyId);
    expect(MasterKey.generate().key.keyId).not.toBe(generated.keyId);
  });
});
