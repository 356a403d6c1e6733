import bananojsModule = require('@bananocoin/bananojs');
import { RAW_PER_BAN } from '../../platform/money';
import {
  accountFromSeed,
  BALANCE_RAW_MAX,
  buildReceiveBlock,
  buildSendBlock,
  hashOf,
  OPEN_PREVIOUS,
  verifySignature,
  withWork,
  type UnworkedStateBlock,
} from './state-block';

interface TestKeys {
  getAccountPublicKey(account: string): string;
  getBananoAccountValidationInfo(account: string): { valid: boolean; message: string };
}
const bananojs = bananojsModule as unknown as TestKeys;

describe('state blocks (bananojs keys, hashes and signatures)', () => {
  const seed = '2'.repeat(64);
  const previous = 'A1'.repeat(32);
  let operator: { privateKey: string; publicKey: string; address: string };
  let player: { privateKey: string; publicKey: string; address: string };

  beforeAll(async () => {
    operator = await accountFromSeed(seed, 0);
    player = await accountFromSeed(seed, 1);
  });

  describe('accountFromSeed', () => {
    it('derives a valid ban_ address whose public key is the derived one', async () => {
      expect(bananojs.getBananoAccountValidationInfo(operator.address).valid).toBe(true);
      expect(bananojs.getAccountPublicKey(operator.address)).toBe(operator.publicKey);
      expect(await accountFromSeed(seed, 0)).toEqual(operator);
      expect(player.address).not.toBe(operator.address);
    });

    it('matches a known derivation (seed of zeros and a one, index 0)', async () => {
      const known = await accountFromSeed(`${'0'.repeat(63)}1`, 0);
      expect(known.privateKey).toBe('52A97949C55273AE17940713BF0137EE60B1EE28FC4C6186DED5883AD9F376A1');
      expect(known.address).toBe('ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9');
    });

    it.each([
      ['a short seed', 'ab', 0],
      ['a seed outside hex', 'g'.repeat(64), 0],
      ['a negative index', seed, -1],
      ['a fractional index', seed, 1.5],
      ['an index past 32 bits', seed, 2 ** 32],
    ])('refuses %s', async (_case, badSeed, index) => {
      await expect(accountFromSeed(badSeed, index)).rejects.toThrow();
    });
  });

  describe('buildSendBlock', () => {
    it('given a balance, when sending, then the block carries the balance after and the destination key, signed', async () => {
      const balanceBeforeRaw = 10_000n * RAW_PER_BAN + 1n;
      const amountRaw = 5n * 10n ** 27n;
      const { block, hash } = await buildSendBlock({
        privateKey: operator.privateKey,
        previous,
        representative: operator.address,
        balanceBeforeRaw,
        amountRaw,
        destination: player.address,
      });

      expect(block).toEqual({
        type: 'state',
        account: operator.address,
        previous: previous.toUpperCase(),
        representative: operator.address,
        balance: (balanceBeforeRaw - amountRaw).toString(),
        link: player.publicKey,
        signature: expect.stringMatching(/^[0-9A-F]{128}$/),
      });
      // The exact decimal proves no float touched the amount: 10^33 + 1 - 5×10^27.
      expect(block.balance).toBe('999995000000000000000000000000001');
      expect(hash).toMatch(/^[0-9A-F]{64}$/);
      expect(hashOf(block)).toBe(hash);
      expect(verifySignature(block)).toBe(true);
    });

    it('sends the whole balance, leaving zero', async () => {
      const { block } = await buildSendBlock({
        privateKey: operator.privateKey,
        previous,
        representative: operator.address,
        balanceBeforeRaw: 7n,
        amountRaw: 7n,
        destination: player.address,
      });
      expect(block.balance).toBe('0');
    });

    it.each([
      ['a zero amount', { amountRaw: 0n }, /positive/],
      ['a negative amount', { amountRaw: -1n }, /positive/],
      ['an overdraft', { amountRaw: 101n }, /overdraw/],
      ['an opening previous', { previous: OPEN_PREVIOUS }, /cannot open/],
      ['a malformed previous', { previous: 'xyz' }, /previous/],
      ['a destination that is not a ban_ address', { destination: 'nano_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9' }, /destination/],
      ['a destination with a wrong checksum', { destination: 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn8' }, /destination/],
      ['a negative balance', { balanceBeforeRaw: -1n }, /balanceBeforeRaw/],
    ])('refuses %s', async (_case, override, message) => {
      await expect(
        buildSendBlock({
          privateKey: operator.privateKey,
          previous,
          representative: operator.address,
          balanceBeforeRaw: 100n,
          amountRaw: 10n,
          destination: player.address,
          ...override,
        }),
      ).rejects.toThrow(message);
    });
  });

  describe('buildReceiveBlock', () => {
    const sendBlockHash = 'B2'.repeat(32);

    it('given an unopened account, when receiving, then the block opens it with the amount as balance', async () => {
      const { block, hash } = await buildReceiveBlock({
        privateKey: player.privateKey,
        previous: OPEN_PREVIOUS,
        representative: operator.address,
        balanceBeforeRaw: 0n,
        amountRaw: 123n,
        sendBlockHash: sendBlockHash.toLowerCase(),
      });
      expect(block).toMatchObject({ account: player.address, previous: OPEN_PREVIOUS, balance: '123', link: sendBlockHash });
      expect(hashOf(block)).toBe(hash);
      expect(verifySignature(block)).toBe(true);
    });

    it('adds the amount to an open account', async () => {
      const { block } = await buildReceiveBlock({
        privateKey: player.privateKey,
        previous,
        representative: operator.address,
        balanceBeforeRaw: 10n ** 35n,
        amountRaw: 1n,
        sendBlockHash,
      });
      expect(block.balance).toBe('100000000000000000000000000000000001');
    });

    it.each([
      ['a zero amount', { amountRaw: 0n }, /positive/],
      ['an opening receive from a non-zero balance', { previous: OPEN_PREVIOUS, balanceBeforeRaw: 5n }, /zero balance/],
      ['a balance past 128 bits', { balanceBeforeRaw: BALANCE_RAW_MAX, amountRaw: 1n }, /128 bits/],
      ['a malformed send hash', { sendBlockHash: '12' }, /sendBlockHash/],
    ])('refuses %s', async (_case, override, message) => {
      await expect(
        buildReceiveBlock({
          privateKey: player.privateKey,
          previous,
          representative: operator.address,
          balanceBeforeRaw: 10n,
          amountRaw: 1n,
          sendBlockHash,
          ...override,
        }),
      ).rejects.toThrow(message);
    });
  });

  describe('withWork, hashOf and verifySignature', () => {
    let signed: UnworkedStateBlock;

    beforeAll(async () => {
      ({ block: signed } = await buildSendBlock({
        privateKey: operator.privateKey,
        previous,
        representative: operator.address,
        balanceBeforeRaw: 1000n,
        amountRaw: 1n,
        destination: player.address,
      }));
    });

    it('adds the work in lower case and keeps the hash, which covers neither work nor signature', () => {
      const worked = withWork(signed, 'ABCDEF0123456789');
      expect(worked.work).toBe('abcdef0123456789');
      expect(hashOf(worked)).toBe(hashOf(signed));
      expect(hashOf({ ...signed, signature: '0'.repeat(128) })).toBe(hashOf(signed));
      expect(verifySignature(worked)).toBe(true);
    });

    it.each(['', 'abc', 'g'.repeat(16), '0'.repeat(17)])('refuses work %p', (work) => {
      expect(() => withWork(signed, work)).toThrow(/work/);
    });

    it('changes the hash when any signed field changes', () => {
      expect(hashOf({ ...signed, balance: '998' })).not.toBe(hashOf(signed));
      expect(hashOf({ ...signed, link: operator.publicKey })).not.toBe(hashOf(signed));
      expect(hashOf({ ...signed, previous: 'C3'.repeat(32) })).not.toBe(hashOf(signed));
      expect(hashOf({ ...signed, representative: player.address })).not.toBe(hashOf(signed));
    });

    it.each<[string, (block: UnworkedStateBlock) => UnworkedStateBlock]>([
      ['a changed balance', (block) => ({ ...block, balance: '999000' })],
      ['a changed destination', (block) => ({ ...block, link: operator.publicKey })],
      ['another account claiming the block', (block) => ({ ...block, account: player.address })],
      ['a signature of zeros', (block) => ({ ...block, signature: '0'.repeat(128) })],
      ['a short signature', (block) => ({ ...block, signature: 'AB' })],
      ['an invalid account', (block) => ({ ...block, account: 'ban_1111' })],
      ['a balance that is not decimal', (block) => ({ ...block, balance: '0x10' })],
      ['a balance past 128 bits', (block) => ({ ...block, balance: (BALANCE_RAW_MAX + 1n).toString() })],
    ])('answers false, without throwing, for %s', (_case, mangle) => {
      expect(verifySignature(mangle(signed))).toBe(false);
    });

    it('answers false for a block signed by another key', async () => {
      const { block: forged } = await buildSendBlock({
        privateKey: player.privateKey,
        previous,
        representative: operator.address,
        balanceBeforeRaw: 1000n,
        amountRaw: 1n,
        destination: player.address,
      });
      expect(verifySignature({ ...forged, account: operator.address })).toBe(false);
    });
  });
});
