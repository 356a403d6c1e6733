import { type StoredData } from '../../platform/event-store/stored-fields';

/** Bumped when a faucet-config event's data changes shape; readers accept every version up to it. */
export const FAUCET_CONFIG_EVENT_SCHEMA_VERSION = 1;

/** The one stream of the settings an admin changes while the service runs (SPEC §3). */
export const FAUCET_CONFIG_STREAM = 'faucet-config';

/** The payout settings an admin may change (SPEC §5 `PUT /v1/admin/config/payout`). */
export interface PayoutSettings {
  readonly banPerKillRaw: string;
  readonly dailyKillCap: number;
  readonly weeklyKillCap: number;
  readonly minOperatorBalanceRaw: string;
}

/** The settlement schedule an admin may change. An interval of 0 stops scheduled runs. */
export interface SchedulerSettings {
  readonly settlementIntervalSeconds: number;
  /** Users taken per run after the shuffle; 0 takes them all. */
  readonly settlementBatchSize: number;
}

/**
 * Only the fields that changed, each with the value in force before it, so the audit can say
 * "from → to" without knowing the environment the service ran with then.
 */
export interface SettingsChange<S> {
  readonly changes: Partial<S>;
  readonly previous: Partial<S>;
  readonly changedAt: string;
}

export interface PayoutConfigChanged {
  readonly type: 'PayoutConfigChanged';
  readonly data: SettingsChange<PayoutSettings>;
}

export interface SchedulerConfigChanged {
  readonly type: 'SchedulerConfigChanged';
  readonly data: SettingsChange<SchedulerSettings>;
}

export type FaucetConfigEvent = PayoutConfigChanged | SchedulerConfigChanged;

type FieldKind = 'raw' | 'count';

const PAYOUT_FIELDS: Readonly<Record<keyof PayoutSettings, FieldKind>> = {
  banPerKillRaw: 'raw',
  dailyKillCap: 'count',
  weeklyKillCap: 'count',
  minOperatorBalanceRaw: 'raw',
};

const SCHEDULER_FIELDS: Readonly<Record<keyof SchedulerSettings, FieldKind>> = {
  settlementIntervalSeconds: 'count',
  settlementBatchSize: 'count',
};

export function decodeFaucetConfigEvent(type: string, data: StoredData): FaucetConfigEvent | null {
  switch (type) {
    case 'PayoutConfigChanged':
      return { type, data: decodeChange<PayoutSettings>(data, PAYOUT_FIELDS) };
    case 'SchedulerConfigChanged':
      return { type, data: decodeChange<SchedulerSettings>(data, SCHEDULER_FIELDS) };
    default:
      return null;
  }
}

function decodeChange<S>(data: StoredData, fields: Readonly<Record<string, FieldKind>>): SettingsChange<S> {
  const changedAt = data.changedAt;
  if (typeof changedAt !== 'string') throw new Error('Stored event field changedAt is not a string');
  return { changes: decodeFields<S>(data, 'changes', fields), previous: decodeFields<S>(data, 'previous', fields), changedAt };
}

function decodeFields<S>(data: StoredData, name: string, fields: Readonly<Record<string, FieldKind>>): Partial<S> {
  const value = data[name];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`Stored event field ${name} is not an object`);
  const decoded: Record<string, string | number> = {};
  for (const [field, fieldValue] of Object.entries(value as Record<string, unknown>)) {
    const kind = fields[field];
    if (kind === undefined) throw new Error(`Stored event field ${name}.${field} is not a known setting`);
    if (kind === 'raw' && !(typeof fieldValue === 'string' && /^\d+$/.test(fieldValue))) throw new Error(`Stored event field ${name}.${field} is not a raw amount`);
    if (kind === 'count' && !(typeof fieldValue === 'number' && Number.isSafeInteger(fieldValue) && fieldValue >= 0)) {
      throw new Error(`Stored event field ${name}.${field} is not a count`);
    }
    decoded[field] = fieldValue as string | number;
  }
  return decoded as Partial<S>;
}
