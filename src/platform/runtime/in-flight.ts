/**
 * Runs `work` for every item, in order of starting, at most `inFlightMax` at once. New work stops
 * starting at the first failure, or once `stopped()` answers true; the work in flight is waited
 * for, then that first failure (if any) is thrown. With `inFlightMax` 1 it is a plain loop.
 */
export async function forEachInFlight<T>(
  items: readonly T[],
  inFlightMax: number,
  work: (item: T, index: number) => Promise<void>,
  options: { readonly stopped?: () => boolean } = {},
): Promise<void> {
  if (!Number.isInteger(inFlightMax) || inFlightMax < 1) throw new Error('inFlightMax must be a positive integer');
  const stopped = options.stopped ?? (() => false);
  let next = 0;
  let failure: { readonly error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length && !stopped()) {
      const index = next;
      next += 1;
      try {
        await work(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlightMax, items.length) }, () => worker()));
  if (failure !== null) throw (failure as { readonly error: unknown }).error;
}
