import { expect } from 'chai';
import { Subject } from 'rxjs';
import { nextTurn } from '../../lib/service/next-turn.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('nextTurn', () => {
  it('passes the values of one turn on together in the next turn, in order', async () => {
    const source = new Subject<number>();
    const seen: number[] = [];
    source.pipe(nextTurn()).subscribe((value) => seen.push(value));

    source.next(1);
    source.next(2);
    await Promise.resolve();
    expect(seen, 'not within the same turn, microtasks included').to.deep.equal([]);
    await turn();
    expect(seen).to.deep.equal([1, 2]);

    source.next(3);
    await turn();
    expect(seen).to.deep.equal([1, 2, 3]);
  });

  it('completes after passing on what came before the completion', async () => {
    const source = new Subject<number>();
    const events: string[] = [];
    source.pipe(nextTurn()).subscribe({
      next: (value) => events.push(`next ${value}`),
      complete: () => events.push('complete'),
    });
    source.next(1);
    source.complete();
    expect(events).to.deep.equal([]);
    await turn();
    expect(events).to.deep.equal(['next 1', 'complete']);
  });

  it('passes an error on at once', () => {
    const source = new Subject<number>();
    let failure: unknown;
    source.pipe(nextTurn()).subscribe({ error: (error: unknown) => (failure = error) });
    source.next(1);
    source.error(new Error('consumer crashed'));
    expect(failure).to.be.an('error').with.property('message', 'consumer crashed');
  });

  it('drops what is pending when unsubscribed', async () => {
    const source = new Subject<number>();
    const seen: number[] = [];
    const subscription = source.pipe(nextTurn()).subscribe((value) => seen.push(value));
    source.next(1);
    subscription.unsubscribe();
    await turn();
    expect(seen).to.deep.equal([]);
    expect(source.observed).to.equal(false);
  });
});
