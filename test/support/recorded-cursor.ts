import { type WorkerCursor } from '../../src/platform/runtime/worker-cursor';

/**
 * A worker cursor holding `stored`, as another instance may move it (`cursor.stored`), that notes
 * each load and save among `events`, in order, for the round-robin workers' unit specs.
 */
export function recordedCursor(stored: string | null, events: string[]): { cursor: { stored: string | null }; port: WorkerCursor } {
  const cursor = { stored };
  return {
    cursor,
    port: {
      load: async () => {
        events.push(`load ${String(cursor.stored)}`);
        return cursor.stored;
      },
      save: async (afterUserId: string) => {
        events.push(`save ${afterUserId}`);
        cursor.stored = afterUserId;
      },
      sinceSavedMs: async () => null,
    },
  };
}
