import bananojsModule = require('@bananocoin/bananojs');

/**
 * The part of bananojs this service uses. Its bundled typings group the functions in namespaces
 * that do not match what the module exports at run time (flat functions), so they are declared
 * here as they really are.
 */
interface BananoJs {
  getBananoAccountValidationInfo(account: string): { valid: boolean; message: string };
  getAccountPublicKey(account: string): string;
  getBananoAccount(publicKey: string): string;
  verifyMessage(publicKey: string, message: string, signature: string): boolean;
}

const bananojs = bananojsModule as unknown as BananoJs;

/**
 * A Banano address is `ban_` + 60 characters of 13456789abcdefghijkmnopqrstuwxyz with a correct
 * Blake2b checksum (SPEC §4.1). bananojs checks the prefix, alphabet, length and checksum.
 */
export function isValidBananoAddress(address: string): boolean {
  if (!/^ban_[13][13456789abcdefghijkmnopqrstuwxyz]{59}$/.test(address)) return false;
  return bananojs.getBananoAccountValidationInfo(address).valid === true;
}

/**
 * The account's public key, 64 upper-case hex characters, or null when `address` names none. The
 * same key is written `ban_`, `nano_` or `xrb_` + the same 60 characters, so all three are taken:
 * two addresses name one account exactly when their keys are equal.
 */
export function accountPublicKey(address: string): string | null {
  const match = /^(?:ban|nano|xrb)_([0-9a-z]{60})$/i.exec(address);
  if (match === null) return null;
  const canonical = `ban_${match[1].toLowerCase()}`;
  return isValidBananoAddress(canonical) ? bananojs.getAccountPublicKey(canonical).toUpperCase() : null;
}

/** The ban_ address of a public key (64 hex characters). */
export function bananoAddressOf(publicKey: string): string {
  return bananojs.getBananoAccount(publicKey.toUpperCase());
}

/**
 * The public keys of small order (libsodium's list, y alone: the top bit, x's sign, is left out).
 * Their addresses pass the checksum, but no one holds such a key, and bananojs (tweetnacl) checks
 * no order: the signature R = identity, S = 0 verifies for every message whose hash is a multiple
 * of the point's order (every message, for the identity), so a proof for them is forged by anyone.
 */
const SMALL_ORDER_KEYS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

function hasSmallOrder(publicKey: string): boolean {
  const key = publicKey.toLowerCase();
  return SMALL_ORDER_KEYS.has(`${key.slice(0, 62)}${(parseInt(key.slice(62), 16) & 0x7f).toString(16).padStart(2, '0')}`);
}

/** True when `signature` (128 hex characters) is the address key's signature of `message`. */
export function isValidMessageSignature(address: string, message: string, signature: string): boolean {
  if (!isValidBananoAddress(address) || !/^[0-9a-fA-F]{128}$/.test(signature)) return false;
  try {
    const publicKey = bananojs.getAccountPublicKey(address);
    if (hasSmallOrder(publicKey)) return false;
    return bananojs.verifyMessage(publicKey, message, signature) === true;
  } catch {
    // tweetnacl throws on malformed input rather than answering false.
    return false;
  }
}
