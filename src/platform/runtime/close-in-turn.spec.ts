import { closeInTurn } from './close-in-turn';

describe('closeInTurn', () => {
  it('runs every step in order and resolves when none fails', async () => {
    const ran: string[] = [];
    await closeInTurn(
      async () => ran.push('workers'),
      async () => ran.push('projector'),
      () => undefined,
      async () => ran.push('database'),
    );
    expect(ran).toEqual(['workers', 'projector', 'database']);
  });

  it('runs the steps after one that failed, then fails with that failure', async () => {
    const ran: string[] = [];
    const failure = new Error('the pool could not end');
    const outcome = closeInTurn(
      async () => ran.push('store'),
      async () => {
        throw failure;
      },
      async () => ran.push('embedded'),
    );
    await expect(outcome).rejects.toBe(failure);
    expect(ran).toEqual(['store', 'embedded']);
  });

  it('names every failure when several steps fail', async () => {
    const first = new Error('first');
    const second = new Error('second');
    const outcome = closeInTurn(
      async () => {
        throw first;
      },
      async () => {
        throw second;
      },
    );
    await expect(outcome).rejects.toMatchObject({ message: '2 shutdown steps failed: first; second', errors: [first, second] });
  });
});
