import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/** AES-256: the key-encryption key is 32 bytes. */
export const MASTER_KEY_BYTES = 32;
/** The GCM nonce: 96 random bits per encryption, the size GCM is specified for. */
const NONCE_BYTES = 12;
/** The full 128-bit GCM tag; a shorter one would weaken the integrity check. */
const AUTH_TAG_BYTES = 16;
/**
 * The key id is a hash of the key under this prefix, so it names a key without revealing anything
 * about it, and never equals a hash of the same bytes taken for another purpose.
 */
const KEY_ID_DOMAIN = 'pay2slay-ledger/secure_config/key-id/v1\u0000';
/** Hex characters of the key id: 64 bits, plenty to tell the few keys of one deployment apart. */
const KEY_ID_HEX_CHARS = 16;
/** Standard base64 of 32 bytes, as `openssl rand -base64 32` prints it (the padding is optional). */
const BASE64_OF_32_BYTES = /^[A-Za-z0-9+/]{43}=?$/;

export const KEY_ID_SHAPE = /^[0-9a-f]{16}$/;
/** A key as it may be given by mistake where a path belongs: bare, in quotes, or followed by a comment or line end. */
const KEY_LIKE = /^\s*["']?[A-Za-z0-9+/]{43}=?(["'\s#]|$)/;

/** Whether `text` may be a master key itself, so that a message must not quote it. */
export function looksLikeMasterKey(text: string): boolean {
  return KEY_LIKE.test(text);
}

/** A value encrypted under a master key, as secure_config stores it. */
export interface SealedValue {
  readonly ciphertext: Buffer;
  readonly authTag: Buffer;
  readonly nonce: Buffer;
  /** The id of the master key it was encrypted under. */
  readonly keyId: string;
}

/** The text given for a master key is not one. The message names where it came from, never what it held. */
export class InvalidMasterKeyError extends Error {
  constructor(source: string) {
    super(`${source} must be the base64 of exactly ${MASTER_KEY_BYTES} random bytes (generate one with: openssl rand -base64 32)`);
    this.name = 'InvalidMasterKeyError';
  }
}

/**
 * A sealed value did not decrypt: another key, or a ciphertext, tag, nonce or associated data that
 * was altered. GCM cannot tell these apart, and the message says no more than that.
 */
export class SecureConfigDecryptError extends Error {
  readonly code = 'secure_config_undecryptable';

  constructor(message: string) {
    super(message);
    this.name = 'SecureConfigDecryptError';
  }
}

/**
 * The key-encryption key of secure_config (SPEC §4.6). Its bytes live in a private field and
 * leave it only as AES-256-GCM output: JSON, `util.inspect` (and so pino and jest) and string
 * conversion show the key id alone.
 */
export class MasterKey {
  readonly keyId: string;
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    if (key.length !== MASTER_KEY_BYTES) throw new Error(`A master key is ${MASTER_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.keyId = createHash('sha256').update(KEY_ID_DOMAIN, 'utf8').update(key).digest('hex').slice(0, KEY_ID_HEX_CHARS);
  }

  /** The key in `text` (base64 of 32 bytes); `source` names where the text came from, for the error. */
  static fromBase64(text: string, source: string): MasterKey {
    const trimmed = text.trim();
    if (!BASE64_OF_32_BYTES.test(trimmed)) throw new InvalidMasterKeyError(source);
    const bytes = Buffer.from(trimmed, 'base64');
    // Node ignores the two spare bits of the last character; a canonical encoding has them zero.
    if (bytes.length !== MASTER_KEY_BYTES || bytes.toString('base64').slice(0, 43) !== trimmed.slice(0, 43)) {
      throw new InvalidMasterKeyError(source);
    }
    return new MasterKey(bytes);
  }

  /** A new random key, and its base64 for the one place it is written down. */
  static generate(): { readonly key: MasterKey; readonly base64: string } {
    const bytes = randomBytes(MASTER_KEY_BYTES);
    const base64 = bytes.toString('base64');
    const key = new MasterKey(bytes);
    bytes.fill(0);
    return { key, base64 };
  }

  /** Encrypts `plaintext` with a fresh random nonce; `associatedData` is authenticated, not stored. */
  seal(plaintext: Buffer, associatedData: Buffer): SealedValue {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: AUTH_TAG_BYTES });
    cipher.setAAD(associatedData);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext, authTag: cipher.getAuthTag(), nonce, keyId: this.keyId };
  }

  /**
   * The plaintext of `sealed`, which must have been sealed under this key with the same
   * associated data; anything else is a SecureConfigDecryptError. The caller should zero the
   * answer once it is done with it.
   */
  open(sealed: SealedValue, associatedData: Buffer, what: string): Buffer {
    if (sealed.keyId !== this.keyId) {
      throw new SecureConfigDecryptError(`${what} is encrypted under master key ${sealed.keyId}, not under the key given (${this.keyId})`);
    }
    if (sealed.nonce.length !== NONCE_BYTES || sealed.authTag.length !== AUTH_TAG_BYTES) {
      throw new SecureConfigDecryptError(`${what} is not a well-formed AES-256-GCM value`);
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.nonce, { authTagLength: AUTH_TAG_BYTES });
    decipher.setAAD(associatedData);
    decipher.setAuthTag(sealed.authTag);
    const plaintext = decipher.update(sealed.ciphertext);
    try {
      return Buffer.concat([plaintext, decipher.final()]);
    } catch {
      throw new SecureConfigDecryptError(`${what} does not decrypt under master key ${this.keyId}: its ciphertext, tag, nonce or name was altered`);
    } finally {
      // Buffer.concat copied it; the partial plaintext is wiped either way.
      plaintext.fill(0);
    }
  }

  toJSON(): { keyId: string } {
    return { keyId: this.keyId };
  }

  toString(): string {
    return `MasterKey(${this.keyId})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
