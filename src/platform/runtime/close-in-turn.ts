import { messageOf } from '../errors/message-of';

/**
 * Runs shutdown steps one after another, each whether or not an earlier one failed, then fails
 * with the first failure (an AggregateError of them all, naming each, when several failed). A
 * process that stops must not leave its embedded PostgreSQL running, or its projector polling,
 * because the step before failed.
 */
export async function closeInTurn(...steps: ReadonlyArray<() => Promise<unknown> | undefined>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} shutdown steps failed: ${failures.map(messageOf).join('; ')}`);
}
