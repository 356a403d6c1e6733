import { TimedIterator } from './timed-iterator';

/** An iterator whose reads the test settles by hand; it counts reads and reactions to each read. */
class ManualIterator implements AsyncIterator<number> {
  readonly reads: Array<{ resolve: (result: IteratorResult<number>) => void; reject: (error: unknown) => void; reactions: number }> = [];

  next(): Promise<IteratorResult<number>> {
    let resolve!: (result: IteratorResult<number>) => void;
    let reject!: (error: unknown) => void;
    const read = new Promise<IteratorResult<number>>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry = { resolve, reject, reactions: 0 };
    this.reads.push(entry);
    // Counts every reaction added to this read: `then`, and through it await, race and catch.
    const then = read.then.bind(read);
    Object.defineProperty(read, 'then', {
      value: (...handlers: Parameters<typeof then>) => {
        entry.reactions += 1;
        return then(...handlers);
      },
    });
    return read;
  }
}

describe('TimedIterator', () => {
  it('answers a result that comes within the wait', async () => {
    const source = new ManualIterator();
    const reads = new TimedIterator(source);
    const waiting = reads.next(5_000);
    source.reads[0].resolve({ done: false, value: 7 });
    await expect(waiting).resolves.toEqual({ done: false, value: 7 });
  });

  it('answers timeout when nothing comes, and a later wait takes the same read', async () => {
    const source = new ManualIterator();
    const reads = new TimedIterator(source);
    await expect(reads.next(5)).resolves.toBe('timeout');
    await expect(reads.next(5)).resolves.toBe('timeout');
    expect(source.reads).toHaveLength(1);
    source.reads[0].resolve({ done: false, value: 1 });
    await expect(reads.next(5)).resolves.toEqual({ done: false, value: 1 });
    expect(source.reads).toHaveLength(1);
    const waiting = reads.next(5_000);
    expect(source.reads).toHaveLength(2);
    source.reads[1].resolve({ done: true, value: undefined });
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
  });

  it('keeps one reaction on a read in flight, however many waits time out', async () => {
    const source = new ManualIterator();
    const reads = new TimedIterator(source);
    for (let wait = 0; wait < 50; wait += 1) await expect(reads.next(1)).resolves.toBe('timeout');
    expect(source.reads).toHaveLength(1);
    expect(source.reads[0].reactions).toBe(1);
  });

  it('keeps a result that settles between waits for the next wait', async () => {
    const source = new ManualIterator();
    const reads = new TimedIterator(source);
    await expect(reads.next(1)).resolves.toBe('timeout');
    source.reads[0].resolve({ done: false, value: 3 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(reads.next(5_000)).resolves.toEqual({ done: false, value: 3 });
  });

  it('throws a failed read from the wait that takes it, also when it failed between waits', async () => {
    const source = new ManualIterator();
    const reads = new TimedIterator(source);
    const waiting = reads.next(5_000);
    source.reads[0].reject(new Error('connection lost'));
    await expect(waiting).rejects.toThrow('connection lost');

    await expect(reads.next(1)).resolves.toBe('timeout');
    source.reads[1].reject(new Error('read refused'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(reads.next(5_000)).rejects.toThrow('read refused');
  });
});
