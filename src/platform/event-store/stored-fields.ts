/**
 * Readers of stored event data: each checks one field's type and throws, naming the field, when a
 * stored event does not have the shape its decoder relies on.
 */
export type StoredData = Readonly<Record<string, unknown>>;

export function str(data: StoredData, field: string): string {
  const value = data[field];
  if (typeof value !== 'string') throw new Error(`Stored event field ${field} is not a string`);
  return value;
}

export function nullableStr(data: StoredData, field: string): string | null {
  const value = data[field];
  return value === null || value === undefined ? null : str(data, field);
}

export function int(data: StoredData, field: string): number {
  const value = data[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`Stored event field ${field} is not an integer`);
  return value;
}

export function rawStr(data: StoredData, field: string): string {
  const value = str(data, field);
  if (!/^\d+$/.test(value)) throw new Error(`Stored event field ${field} is not a raw amount`);
  return value;
}

export function oneOf<T extends string>(data: StoredData, field: string, allowed: readonly T[]): T {
  const value = str(data, field);
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`Stored event field ${field} has unknown value ${value}`);
  return value as T;
}
