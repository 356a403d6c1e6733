import bananojsModule = require('@bananocoin/bananojs');
import { isValidBananoAddress, isValidMessageSignature } from './banano-address';

interface TestKeys {
  getPrivateKey(seed: string, index: number): string;
  getPublicKey(privateKey: string): Promise<string>;
  getBananoAccount(publicKey: string): string;
  signMessage(privateKey: string, message: string): Promise<string>;
  verifyMessage(publicKey: string, message: string, signature: string): boolean;
}
const bananojs = bananojsModule as unknown as TestKeys;

describe('Banano addresses and message signatures (bananojs)', () => {
  const seed = '1'.repeat(64);
  let address: string;
  let privateKey: string;

  beforeAll(async () => {
    privateKey = bananojs.getPrivateKey(seed, 0);
    address = bananojs.getBananoAccount(await bananojs.getPublicKey(privateKey));
  });

  it('accepts an address derived from a key', () => {
    expect(isValidBananoAddress(address)).toBe(true);
  });

  it.each([
    ['a wrong checksum', (a: string) => `${a.slice(0, -1)}${a.endsWith('1') ? '3' : '1'}`],
    ['a nano_ prefix', (a: string) => a.replace('ban_', 'nano_')],
    ['an xrb_ prefix', (a: string) => a.replace('ban_', 'xrb_')],
    ['upper case', (a: string) => a.toUpperCase()],
    ['an upper-case prefix', (a: string) => a.replace('ban_', 'BAN_')],
    ['a leading space', (a: string) => ` ${a}`],
    ['a trailing newline', (a: string) => `${a}\n`],
    ['a character outside the alphabet', (a: string) => `${a.slice(0, 10)}l${a.slice(11)}`],
    ['one character short', (a: string) => a.slice(0, -1)],
    ['one character long', (a: string) => `${a}1`],
    ['a first character other than 1 or 3', (a: string) => `ban_2${a.slice(5)}`],
  ])('refuses %s', (_case, mangle) => {
    expect(isValidBananoAddress(mangle(address))).toBe(false);
  });

  it('checks a message signature against the address key', async () => {
    const signature = await bananojs.signMessage(privateKey, 'I own this wallet');
    expect(isValidMessageSignature(address, 'I own this wallet', signature)).toBe(true);
    expect(isValidMessageSignature(address, 'I own that wallet', signature)).toBe(false);
    expect(isValidMessageSignature(address, 'I own this wallet', 'zz')).toBe(false);
    expect(isValidMessageSignature(address, 'I own this wallet', '0'.repeat(128))).toBe(false);
    // bananojs writes signatures in upper case; hexadecimal in lower case is the same signature.
    expect(isValidMessageSignature(address, 'I own this wallet', signature.toLowerCase())).toBe(true);
    // bananojs reads each byte with parseInt, which takes `+5` or ` 5` for `05`: only hexadecimal passes.
    const zero = [...signature].findIndex((digit, index) => index % 2 === 0 && digit === '0');
    expect(zero).toBeGreaterThanOrEqual(0);
    for (const spelling of ['+', ' ']) {
      expect(isValidMessageSignature(address, 'I own this wallet', `${signature.slice(0, zero)}${spelling}${signature.slice(zero + 1)}`)).toBe(false);
    }
  });

  it.each([
    ['the identity (order 1)', `01${'00'.repeat(31)}`],
    ['the identity, y = p + 1', `ee${'ff'.repeat(30)}7f`],
    ['y = -1 (order 2)', `ec${'ff'.repeat(30)}7f`],
    ['y = 0 (order 4)', '00'.repeat(32)],
    ['y = 0, y = p', `ed${'ff'.repeat(30)}7f`],
    ['a point of order 8', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'],
    ['the other point of order 8', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'],
  ])('refuses a signature forged without a key for an address of a small-order key: %s', (_case, key) => {
    // No one holds such a key, and R = the identity, S = 0 verifies for every message whose hash
    // is a multiple of the point's order: one in 1 to 8. Either sign of x.
    const forged = `01${'00'.repeat(63)}`;
    for (const publicKey of [key, `${key.slice(0, 62)}${(parseInt(key.slice(62), 16) | 0x80).toString(16)}`]) {
      const smallOrderAddress = bananojs.getBananoAccount(publicKey.toUpperCase());
      const message = Array.from({ length: 200 }, (_, index) => `Pay2Slay: user ${index}`).find((text) => bananojs.verifyMessage(publicKey, text, forged));
      expect({ valid: isValidBananoAddress(smallOrderAddress), forgeable: message !== undefined }).toEqual({ valid: true, forgeable: true });
      expect(isValidMessageSignature(smallOrderAddress, message as string, forged)).toBe(false);
    }
  });
});
