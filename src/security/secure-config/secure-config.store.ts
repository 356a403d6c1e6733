import { type DatabasePool, type DatabaseTransactionConnection, sql } from 'slonik';
import { z } from 'zod';
import { type CommandMetadata } from '../../platform/decider';
import { messageOf } from '../../platform/errors/message-of';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventMetadata, type EventStore, newEventId, type RecordedEvent, WrongExpectedRevisionError } from '../../platform/event-store/event-store.port';
import { type MasterKey, type SealedValue, SecureConfigDecryptError } from './master-key';
import { SECURE_CONFIG_EVENT_SCHEMA_VERSION, SECURE_CONFIG_STREAM, type SecureConfigAction, type SecureConfigChanged } from './secure-config.events';

/** A secure_config entry as stored: the sealed value and what may be known without the key. */
export interface SecureConfigEntry {
  readonly name: string;
  readonly sealed: SealedValue;
  /** The public address the value derives, when it has one (operator_seed). */
  readonly address: string | null;
  readonly updatedAt: Date;
}

export interface RotationResult {
  readonly previousKeyId: string;
  readonly keyId: string;
  /** Entries re-encrypted under the new key, by name. */
  readonly rotated: readonly string[];
  /** Entries already under the new key (a rotation run again after it committed), left as they were. */
  readonly alreadyRotated: readonly string[];
  /** Why the rotation's events wait in the outbox (the event store failed after the commit), or null. */
  readonly eventsPending: string | null;
}

/** Events appended per outbox pass; a backlog (never more than a few changes) takes several passes. */
const OUTBOX_BATCH_MAX = 100;
/** Appends tried again when another writer moved the secure-config stream in between. */
const APPEND_ATTEMPTS_MAX = 5;

const entryRow = z.object({
  name: z.string(),
  ciphertext: z.instanceof(Buffer),
  auth_tag: z.instanceof(Buffer),
  nonce: z.instanceof(Buffer),
  key_id: z.string(),
  address: z.string().nullable(),
  updated_at: z.date(),
});

const outboxRow = z.object({
  event_id: z.string(),
  event_type: z.string(),
  data: z.record(z.unknown()),
  metadata: z.record(z.unknown()),
});

function entryOf(row: z.infer<typeof entryRow>): SecureConfigEntry {
  return {
    name: row.name,
    sealed: { ciphertext: row.ciphertext, authTag: row.auth_tag, nonce: row.nonce, keyId: row.key_id },
    address: row.address,
    updatedAt: row.updated_at,
  };
}

/**
 * What a value is bound to besides its key: the entry's name and the public address stored beside
 * it. Renaming an entry, or pointing its address elsewhere, makes it fail to decrypt.
 */
export function associatedDataOf(name: string, address: string | null): Buffer {
  return Buffer.from(JSON.stringify(['pay2slay-ledger/secure_config/v1', name, address]), 'utf8');
}

/** Reads of the secure_config table (SPEC §4.6, §6), for the seed source and the status. */
export class SecureConfigEntries {
  constructor(protected readonly pool: DatabasePool) {}

  async entry(name: string): Promise<SecureConfigEntry | null> {
    const row = await this.pool.maybeOne(sql.type(entryRow)`
      SELECT name, ciphertext, auth_tag, nonce, key_id, address, updated_at FROM secure_config WHERE name = ${name}`);
    return row === null ? null : entryOf(row);
  }

  /**
   * The plaintext of an entry, or null when there is none; a SecureConfigDecryptError when `key`
   * cannot open it. The caller zeroes the buffer when done.
   */
  async reveal(name: string, key: MasterKey): Promise<Buffer | null> {
    const entry = await this.entry(name);
    return entry === null ? null : openEntry(entry, key);
  }
}

/** The plaintext of `entry` (a SecureConfigDecryptError when `key` cannot open it); the caller zeroes it when done. */
export function openEntry(entry: SecureConfigEntry, key: MasterKey): Buffer {
  return key.open(entry.sealed, associatedDataOf(entry.name, entry.address), `The secure_config entry ${entry.name}`);
}

/**
 * The secure_config table with its writes, and the SecureConfigChanged events of its changes.
 *
 * Write order, for crash safety: a change writes its row(s) and its event(s) into
 * secure_config_outbox in ONE transaction, then appends the outbox to the `secure-config` stream
 * and empties it. Status and payouts read the same committed row, so they can never disagree
 * about the seed; a crash after the commit leaves the event in the outbox, appended by the next
 * change, rotation or start-up under the id it was given at the commit, so it is stored once.
 */
export class SecureConfigStore extends SecureConfigEntries {
  constructor(
    pool: DatabasePool,
    private readonly events: EventStore,
  ) {
    super(pool);
  }

  /**
   * Stores `plaintext` as entry `name`, encrypted under `key`, and records SecureConfigChanged
   * `set`. Storing what is already stored, under the same key, changes nothing and records
   * nothing. Answers whether it changed the entry. A key that was retired (a rotation, or a PUT
   * under another key that replaced an entry sealed under it) is refused with
   * 409 `master_key_retired`: that is a process not yet restarted with the new key.
   */
  async put(input: {
    readonly name: string;
    readonly plaintext: Buffer;
    readonly address: string | null;
    readonly key: MasterKey;
    readonly metadata: CommandMetadata;
    readonly now: Date;
  }): Promise<{ readonly changed: boolean; readonly eventsPending: string | null }> {
    const { name, plaintext, address, key, metadata, now } = input;
    const changed = await this.pool.transaction(async (transaction) => {
      await lockForWriting(transaction);
      const retiredAt = await transaction.maybeOneFirst(sql.type(z.object({ retired_at: z.date() }))`
        SELECT retired_at FROM secure_config_retired_keys WHERE key_id = ${key.keyId}`);
      if (retiredAt !== null) {
        throw new DomainError(
          'master_key_retired',
          `This process's master key (${key.keyId}) was retired on ${retiredAt.toISOString()} (rotated away from, or replaced by a seed stored under another key); nothing was stored. ` +
            'Restart it with the current master key',
          409,
        );
      }
      const existing = await transaction.maybeOne(sql.type(entryRow)`
        SELECT name, ciphertext, auth_tag, nonce, key_id, address, updated_at FROM secure_config WHERE name = ${name}`);
      if (existing !== null && existing.key_id === key.keyId && existing.address === address && sameValue(entryOf(existing), key, plaintext)) {
        return false;
      }
      const sealed = key.seal(plaintext, associatedDataOf(name, address));
      // The entry was sealed under another key: this one replaces it, as a rotation does (the way
      // back from a lost key). A process still on that key must not seal the entry under it again,
      // where the processes on this key could not open it: it is retired like a rotated-from key.
      if (existing !== null && existing.key_id !== key.keyId) await retireKey(transaction, existing.key_id, now);
      await transaction.query(sql.unsafe`
        INSERT INTO secure_config (name, ciphertext, auth_tag, nonce, key_id, address, updated_at)
        VALUES (${name}, ${sql.binary(sealed.ciphertext)}, ${sql.binary(sealed.authTag)}, ${sql.binary(sealed.nonce)}, ${sealed.keyId},
                ${address}, ${now.toISOString()}::timestamptz)
        ON CONFLICT (name) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag, nonce = EXCLUDED.nonce,
          key_id = EXCLUDED.key_id, address = EXCLUDED.address, updated_at = EXCLUDED.updated_at`);
      await enqueueChange(transaction, { name, keyId: sealed.keyId, address, action: 'set', now }, metadata);
      return true;
    });
    return { changed, eventsPending: await this.appendAfterCommit() };
  }

  /**
   * Re-encrypts every entry under `newKey`, in one transaction (SPEC §4.6: the key can be
   * rotated). Every entry must open under `oldKey`; one that does not (the old key is wrong, or the
   * entry was altered) refuses the whole rotation, which then changes nothing. An entry already
   * under `newKey` is only checked, so a rotation run again after it committed is harmless. The
   * old key is retired (`put` refuses it from then on), and the new one taken off that list.
   */
  async rotate(input: { readonly oldKey: MasterKey; readonly newKey: MasterKey; readonly metadata: CommandMetadata; readonly now: Date }): Promise<RotationResult> {
    const { oldKey, newKey, metadata, now } = input;
    if (oldKey.keyId === newKey.keyId) {
      throw new DomainError('master_key_unchanged', `The new master key is the old one (key id ${oldKey.keyId}); nothing was rotated`);
    }
    const result = await this.inRotation(oldKey, newKey, async (transaction) => {
      await lockForWriting(transaction);
      const rows = await transaction.any(sql.type(entryRow)`
        SELECT name, ciphertext, auth_tag, nonce, key_id, address, updated_at FROM secure_config ORDER BY name`);
      const rotated: string[] = [];
      const alreadyRotated: string[] = [];
      for (const row of rows) {
        const entry = entryOf(row);
        const associatedData = associatedDataOf(entry.name, entry.address);
        const what = `The secure_config entry ${entry.name}`;
        if (entry.sealed.keyId === newKey.keyId) {
          openOrRefuse(newKey, entry, associatedData, what).fill(0);
          alreadyRotated.push(entry.name);
          continue;
        }
        if (entry.sealed.keyId !== oldKey.keyId) {
          throw new DomainError(
            'master_key_mismatch',
            `${what} is encrypted under master key ${entry.sealed.keyId}, not under the old key given (${oldKey.keyId}); nothing was rotated`,
          );
        }
        const plaintext = openOrRefuse(oldKey, entry, associatedData, what);
        const sealed = newKey.seal(plaintext, associatedData);
        plaintext.fill(0);
        await transaction.query(sql.unsafe`
          UPDATE secure_config
             SET ciphertext = ${sql.binary(sealed.ciphertext)}, auth_tag = ${sql.binary(sealed.authTag)}, nonce = ${sql.binary(sealed.nonce)},
                 key_id = ${sealed.keyId}, updated_at = ${now.toISOString()}::timestamptz
           WHERE name = ${entry.name}`);
        await enqueueChange(transaction, { name: entry.name, keyId: sealed.keyId, address: entry.address, action: 'rotated', now }, metadata);
        rotated.push(entry.name);
      }
      // A process still on the old key must not seal a seed under it again; see migrations/0021.
      await transaction.query(sql.unsafe`DELETE FROM secure_config_retired_keys WHERE key_id = ${newKey.keyId}`);
      await retireKey(transaction, oldKey.keyId, now);
      return { previousKeyId: oldKey.keyId, keyId: newKey.keyId, rotated, alreadyRotated };
    });
    return { ...result, eventsPending: await this.appendAfterCommit() };
  }

  /**
   * The rotation's transaction. A refusal (a DomainError) changed nothing. Any other failure may
   * have come as the transaction committed (the connection dropped before the answer to COMMIT
   * arrived), so the rotation may be done: said as a plain error, exit 1 would read as "nothing
   * changed", and the new key, then the only one that opens the seed, could be thrown away. The
   * error says the outcome is not known, and which key id the status then shows for each outcome.
   */
  private async inRotation<T>(oldKey: MasterKey, newKey: MasterKey, work: (transaction: DatabaseTransactionConnection) => Promise<T>): Promise<T> {
    try {
      return await this.pool.transaction(work);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new DomainError(
        'rotation_outcome_unknown',
        `The rotation from master key ${oldKey.keyId} to ${newKey.keyId} failed (${messageOf(error)}), maybe as it committed: ` +
          'whether it took effect is not known, so keep both keys. `npm run cli -- secure-config status` tells, once the database answers: ' +
          `keyId ${newKey.keyId} means it is done, keyId ${oldKey.keyId} that nothing changed (run the rotation again)`,
        503,
      );
    }
  }

  /**
   * The events of a change that has committed: appended now, or, when the event store cannot take
   * them, left in the outbox, which the next change, rotation or start-up appends. Answers why
   * they wait, or null. The change is made either way, so it must not be reported as failed: a
   * rotation's exit 1 would tell the operator that nothing changed, and the new key, the only one
   * that now opens the seed, could be thrown away.
   */
  private async appendAfterCommit(): Promise<string | null> {
    try {
      await this.appendPendingEvents();
      return null;
    } catch (error) {
      return messageOf(error);
    }
  }

  /**
   * Appends the outbox to the `secure-config` stream, oldest first, each with the expected revision
   * it read, and empties it. The outbox rows stay locked meanwhile, so two passes (in two processes)
   * append in turn; an event whose id the stream already holds (appended before a crash) is only
   * removed. Answers the number of events taken from the outbox.
   */
  async appendPendingEvents(): Promise<number> {
    let taken = 0;
    for (;;) {
      const count = await this.pool.transaction(async (transaction) => {
        const pending = await transaction.any(sql.type(outboxRow)`
          SELECT event_id, event_type, data, metadata FROM secure_config_outbox ORDER BY sequence LIMIT ${OUTBOX_BATCH_MAX} FOR UPDATE`);
        for (const row of pending) {
          await this.appendOnce(row);
          await transaction.query(sql.unsafe`DELETE FROM secure_config_outbox WHERE event_id = ${row.event_id}`);
        }
        return pending.length;
      });
      taken += count;
      if (count < OUTBOX_BATCH_MAX) return taken;
    }
  }

  private async appendOnce(row: z.infer<typeof outboxRow>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      // The stream holds one event per change of a secret, a handful over a deployment's life.
      const history: RecordedEvent[] = await this.events.readStream(SECURE_CONFIG_STREAM);
      if (history.some((event) => event.id === row.event_id)) return;
      const last = history.at(-1);
      try {
        await this.events.appendToStream(
          SECURE_CONFIG_STREAM,
          [{ id: row.event_id, type: row.event_type, data: row.data, metadata: row.metadata as unknown as EventMetadata }],
          { expectedRevision: last === undefined ? 'no_stream' : last.revision },
        );
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= APPEND_ATTEMPTS_MAX) throw error;
      }
    }
  }
}

/**
 * One writer at a time: concurrent changes and rotations queue here, so a rotation never misses a
 * row written meanwhile and outbox order is commit order. Reads (status, payouts) are not blocked.
 */
async function lockForWriting(transaction: DatabaseTransactionConnection): Promise<void> {
  await transaction.query(sql.unsafe`LOCK TABLE secure_config IN SHARE ROW EXCLUSIVE MODE`);
}

function sameValue(entry: SecureConfigEntry, key: MasterKey, plaintext: Buffer): boolean {
  let stored: Buffer;
  try {
    stored = openEntry(entry, key);
  } catch (error) {
    // An entry that no longer opens is replaced, not compared.
    if (error instanceof SecureConfigDecryptError) return false;
    throw error;
  }
  const same = stored.equals(plaintext);
  stored.fill(0);
  return same;
}

function openOrRefuse(key: MasterKey, entry: SecureConfigEntry, associatedData: Buffer, what: string): Buffer {
  try {
    return key.open(entry.sealed, associatedData, what);
  } catch (error) {
    if (!(error instanceof SecureConfigDecryptError)) throw error;
    throw new DomainError(error.code, `${error.message}; nothing was rotated`);
  }
}

async function enqueueChange(
  transaction: DatabaseTransactionConnection,
  change: { readonly name: string; readonly keyId: string; readonly address: string | null; readonly action: SecureConfigAction; readonly now: Date },
  metadata: CommandMetadata,
): Promise<void> {
  const event: SecureConfigChanged = {
    type: 'SecureConfigChanged',
    data: { name: change.name, keyId: change.keyId, address: change.address, action: change.action, changedAt: change.now.toISOString() },
  };
  const stored: EventMetadata = { ...metadata, schemaVersion: SECURE_CONFIG_EVENT_SCHEMA_VERSION };
  // Stored as the event store will store it: JSON, so a field left undefined is simply absent.
  const asJson = (value: object): string => JSON.stringify(value);
  await transaction.query(sql.unsafe`
    INSERT INTO secure_config_outbox (event_id, event_type, data, metadata, created_at)
    VALUES (${newEventId()}, ${event.type}, ${asJson(event.data)}::jsonb, ${asJson(stored)}::jsonb, ${change.now.toISOString()}::timestamptz)`);
}

/** From now on `put` refuses `keyId` (409 master_key_retired); see migrations/0021. */
async function retireKey(transaction: DatabaseTransactionConnection, keyId: string, now: Date): Promise<void> {
  await transaction.query(sql.unsafe`
    INSERT INTO secure_config_retired_keys (key_id, retired_at) VALUES (${keyId}, ${now.toISOString()}::timestamptz)
    ON CONFLICT (key_id) DO NOTHING`);
}
