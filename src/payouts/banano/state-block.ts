import bananojsModule = require('@bananocoin/bananojs');
import { isValidBananoAddress } from '../../platform/banano/banano-address';

/**
 * The part of bananojs this module uses. Its bundled typings group the functions in namespaces
 * that do not match what the module exports at run time (flat functions), so they are declared
 * here as they really are (index.js and app/scripts/banano-util.js of @bananocoin/bananojs 2.10).
 */
interface BananoJsBlocks {
  /** Blake2b-256 over preamble, account key, previous, representative key, balance (16 bytes) and link. */
  getBlockHash(block: HashableBlock): string;
  /** Hashes the block and signs the hash with the ed25519-blake2b key; answers 128 upper-case hex characters. */
  getSignature(privateKey: string, block: HashableBlock): Promise<string>;
  verify(hash: string, signature: string, publicKey: string): boolean;
  getPrivateKey(seed: string, index: number): string;
  getPublicKey(privateKey: string): Promise<string>;
  getBananoAccount(publicKey: string): string;
  getAccountPublicKey(account: string): string;
}

const bananojs = bananojsModule as unknown as BananoJsBlocks;

/**
 * A Banano state block as the node's `process` and `block_info` (with `json_block: true`) carry it.
 * Hashes, keys and signatures are upper-case hex, the way the node and bananojs write them; `work`
 * is 16 hex characters, lower case like the node's `work_generate` answer.
 */
export interface StateBlock {
  type: 'state';
  account: string;
  /** The account's frontier before this block, or 64 zeros for the block that opens the account. */
  previous: string;
  representative: string;
  /** The account balance after this block, in raw, as a decimal string. */
  balance: string;
  /** 64 hex characters: the destination's public key for a send, the send block hash for a receive. */
  link: string;
  signature: string;
  work: string;
}

/** A signed block that still waits for its proof of work. */
export type UnworkedStateBlock = Omit<StateBlock, 'work'>;

/** The `previous` of the block that opens an account. */
export const OPEN_PREVIOUS = '0'.repeat(64);

/** Balances are 128-bit unsigned integers on the ledger (the block hash covers 16 bytes of balance). */
export const BALANCE_RAW_MAX = 2n ** 128n - 1n;

const hex64 = /^[0-9A-Fa-f]{64}$/;
const hex128 = /^[0-9A-Fa-f]{128}$/;
const hex16 = /^[0-9A-Fa-f]{16}$/;
const decimal = /^\d{1,39}$/;

export interface SendBlockInput {
  privateKey: string;
  /** The hash of the account's current frontier: a send never opens an account. */
  previous: string;
  representative: string;
  balanceBeforeRaw: bigint;
  amountRaw: bigint;
  destination: string;
}

export interface ReceiveBlockInput {
  privateKey: string;
  /** The account's current frontier, or {@link OPEN_PREVIOUS} to open the account with this receive. */
  previous: string;
  representative: string;
  balanceBeforeRaw: bigint;
  amountRaw: bigint;
  /** The hash of the send block being received; its amount must equal `amountRaw`. */
  sendBlockHash: string;
}

/**
 * Builds and signs the send of `amountRaw` from the key's account to `destination`, on top of
 * `previous`. The caller states the balance before the send because the block carries the balance
 * after it, and the node reads the amount as the difference between the two.
 */
export async function buildSendBlock(input: SendBlockInput): Promise<{ block: UnworkedStateBlock; hash: string }> {
  assertHash(input.previous, 'previous');
  if (input.previous === OPEN_PREVIOUS) throw new Error('A send block cannot open an account: previous must be the frontier.');
  assertAddress(input.representative, 'representative');
  assertAddress(input.destination, 'destination');
  assertBalance(input.balanceBeforeRaw, 'balanceBeforeRaw');
  if (input.amountRaw <= 0n) throw new Error(`A send must move a positive amount; got ${input.amountRaw} raw.`);
  if (input.amountRaw > input.balanceBeforeRaw) {
    throw new Error(`A send of ${input.amountRaw} raw would overdraw a balance of ${input.balanceBeforeRaw} raw.`);
  }
  const account = await accountOfPrivateKey(input.privateKey);
  return sign(input.privateKey, {
    type: 'state',
    account,
    previous: input.previous.toUpperCase(),
    representative: input.representative,
    balance: (input.balanceBeforeRaw - input.amountRaw).toString(),
    link: bananojs.getAccountPublicKey(input.destination).toUpperCase(),
  });
}

/**
 * Builds and signs the receive of the send `sendBlockHash` (of `amountRaw`) into the key's account.
 * With `previous` = 64 zeros the block opens the account, and `balanceBeforeRaw` must be 0.
 */
export async function buildReceiveBlock(input: ReceiveBlockInput): Promise<{ block: UnworkedStateBlock; hash: string }> {
  assertHash(input.previous, 'previous');
  assertHash(input.sendBlockHash, 'sendBlockHash');
  assertAddress(input.representative, 'representative');
  assertBalance(input.balanceBeforeRaw, 'balanceBeforeRaw');
  if (input.previous === OPEN_PREVIOUS && input.balanceBeforeRaw !== 0n) {
    throw new Error('An account is opened from a zero balance; balanceBeforeRaw must be 0 when previous is all zeros.');
  }
  if (input.amountRaw <= 0n) throw new Error(`A receive must add a positive amount; got ${input.amountRaw} raw.`);
  const balanceAfterRaw = input.balanceBeforeRaw + input.amountRaw;
  if (balanceAfterRaw > BALANCE_RAW_MAX) throw new Error('The balance after this receive would not fit in 128 bits.');
  const account = await accountOfPrivateKey(input.privateKey);
  return sign(input.privateKey, {
    type: 'state',
    account,
    previous: input.previous.toUpperCase(),
    representative: input.representative,
    balance: balanceAfterRaw.toString(),
    link: input.sendBlockHash.toUpperCase(),
  });
}

/** The block with its proof of work (16 hex characters from `work_generate`), ready for `process`. */
export function withWork(block: UnworkedStateBlock, work: string): StateBlock {
  if (!hex16.test(work)) throw new Error('work must be 16 hexadecimal characters.');
  return { ...block, work: work.toLowerCase() };
}

/**
 * The block hash (64 upper-case hex characters). Work and signature are not part of it, so a block
 * keeps its hash whatever work it carries. Throws when an account or a hex field is malformed.
 */
export function hashOf(block: UnworkedStateBlock | StateBlock): string {
  return bananojs.getBlockHash(hashable(block)).toUpperCase();
}

/** True when the block is well formed and signed by the key of its own `account`; never throws. */
export function verifySignature(block: UnworkedStateBlock | StateBlock): boolean {
  try {
    if (!isWellFormed(block)) return false;
    const publicKey = bananojs.getAccountPublicKey(block.account);
    return bananojs.verify(hashOf(block), block.signature, publicKey) === true;
  } catch {
    // tweetnacl and the address decoder throw on malformed input rather than answering false.
    return false;
  }
}

/** The key pair and `ban_` address at `index` of a 64-hex-character seed, derived as every Banano wallet does. */
export async function accountFromSeed(
  seedHex64: string,
  index: number,
): Promise<{ privateKey: string; publicKey: string; address: string }> {
  if (!hex64.test(seedHex64)) throw new Error('A seed is 64 hexadecimal characters.');
  // The index is a 32-bit big-endian counter in the derivation (blake2b(seed ‖ index)).
  if (!Number.isSafeInteger(index) || index < 0 || index > 0xffff_ffff) throw new Error('index must be an integer from 0 to 2^32 - 1.');
  const privateKey = bananojs.getPrivateKey(seedHex64, index).toUpperCase();
  const publicKey = (await bananojs.getPublicKey(privateKey)).toUpperCase();
  return { privateKey, publicKey, address: bananojs.getBananoAccount(publicKey) };
}

interface HashableBlock {
  type: 'state';
  account: string;
  previous: string;
  representative: string;
  balance: string;
  link: string;
}

function hashable(block: UnworkedStateBlock | StateBlock): HashableBlock {
  if (!decimal.test(block.balance) || BigInt(block.balance) > BALANCE_RAW_MAX) {
    throw new Error('balance must be a decimal string of at most 128 bits.');
  }
  if (!hex64.test(block.previous) || !hex64.test(block.link)) throw new Error('previous and link must be 64 hexadecimal characters.');
  const { type, account, previous, representative, balance, link } = block;
  return { type, account, previous, representative, balance, link };
}

function isWellFormed(block: UnworkedStateBlock | StateBlock): boolean {
  return (
    block.type === 'state' &&
    isValidBananoAddress(block.account) &&
    isValidBananoAddress(block.representative) &&
    hex64.test(block.previous) &&
    hex64.test(block.link) &&
    hex128.test(block.signature) &&
    decimal.test(block.balance) &&
    BigInt(block.balance) <= BALANCE_RAW_MAX
  );
}

async function sign(privateKey: string, unsigned: HashableBlock): Promise<{ block: UnworkedStateBlock; hash: string }> {
  const hash = bananojs.getBlockHash(unsigned).toUpperCase();
  const signature = (await bananojs.getSignature(privateKey, unsigned)).toUpperCase();
  return { block: { ...unsigned, signature }, hash };
}

async function accountOfPrivateKey(privateKey: string): Promise<string> {
  if (!hex64.test(privateKey)) throw new Error('privateKey must be 64 hexadecimal characters.');
  return bananojs.getBananoAccount(await bananojs.getPublicKey(privateKey));
}

function assertHash(value: string, name: string): void {
  if (!hex64.test(value)) throw new Error(`${name} must be 64 hexadecimal characters.`);
}

function assertAddress(value: string, name: string): void {
  if (!isValidBananoAddress(value)) throw new Error(`${name} must be a valid ban_ address.`);
}

function assertBalance(value: bigint, name: string): void {
  if (value < 0n || value > BALANCE_RAW_MAX) throw new Error(`${name} must be from 0 to 2^128 - 1 raw.`);
}

/** The account's public key (64 upper-case hex characters): the work root of the block that opens it. */
export function publicKeyOfAccount(address: string): string {
  assertAddress(address, 'address');
  return bananojs.getAccountPublicKey(address).toUpperCase();
}
