import bananojsModule = require('@bananocoin/bananojs');

/**
 * The part of bananojs this service uses. Its bundled typings group the functions in namespaces
 * that do not match what the module exports at run time (flat functions), so they are declared
 * here as they really are.
 */
interface BananoJs {
  getBananoAccountValidationInfo(account: string): { valid: boolean; message: string };
  getAccountPublicKey(account: string): string;
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

/** True when `signature` (128 hex characters) is the address key's signature of `message`. */
export function isValidMessageSignature(address: string, message: string, signature: string): boolean {
  if (!isValidBananoAddress(address) || !/^[0-9a-fA-F]{128}$/.test(signature)) return false;
  try {
    return bananojs.verifyMessage(bananojs.getAccountPublicKey(address), message, signature) === true;
  } catch {
    // tweetnacl throws on malformed input rather than answering false.
    return false;
  }
}
