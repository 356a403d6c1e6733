import { FreshReads } from './fresh-reads';

/** A read the test finishes by hand, numbered in the order the reads began. */
function manualReads(): { reads: FreshReads<number>; begun: () => number; finish: (value?: number) => void; fail: () => void } {
  const pending: Array<{ resolve: (value: number) => void; reject: (error: Error) => void }> = [];
  let begun = 0;
  const reads = new FreshReads<number>(
    () =>
      new Promise<number>((resolve, reject) => {
        begun += 1;
        pending.push({ resolve, reject });
      }),
  );
  return {
    reads,
    begun: () => begun,
    finish: (value = begun) => pending.shift()?.resolve(value),
    fail: () => pending.shift()?.reject(new Error('read failed')),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FreshReads', () => {
  it('reads at once for a lone caller', async () => {
    const { reads, begun, finish } = manualReads();
    const answer = reads.read();
    expect(begun()).toBe(1);
    finish(7);
    expect(await answer).toBe(7);
  });

  it('gives callers that arrive during a read the next read, one for all of them', async () => {
    const { reads, begun, finish } = manualReads();
    const first = reads.read();
    const second = reads.read();
    const third = reads.read();
    expect(begun()).toBe(1);

    finish(1);
    await settle();
    expect(await first).toBe(1);
    expect(begun()).toBe(2);
    finish(2);

    expect(await second).toBe(2);
    expect(await third).toBe(2);
    expect(begun()).toBe(2);
  });

  it('never answers a caller with a read that began before its call', async () => {
    const { reads, finish } = manualReads();
    void reads.read();
    finish(1);
    await settle();
    const next = reads.read();
    // Read 2 is on its way when this caller comes: it waits for read 3.
    const late = reads.read();
    finish(2);
    await settle();
    finish(3);
    expect(await next).toBe(2);
    expect(await late).toBe(3);
  });

  it('passes a failed read to its own callers only, and reads again for the queued ones', async () => {
    const { reads, begun, fail, finish } = manualReads();
    const failing = reads.read();
    const queued = reads.read();
    fail();
    await expect(failing).rejects.toThrow('read failed');
    await settle();
    expect(begun()).toBe(2);
    finish(5);
    expect(await queued).toBe(5);
  });
});
