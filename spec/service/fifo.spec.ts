import { expect } from 'chai';
import { Fifo } from '../../lib/service/fifo.js';

describe('Fifo', () => {
  it('gives items back in the order they were pushed, and undefined once empty', () => {
    const fifo = new Fifo<string>();
    fifo.push('a');
    fifo.push('b');
    expect(fifo.shift()).to.equal('a');
    fifo.push('c');
    expect([fifo.length, fifo.shift(), fifo.shift(), fifo.shift(), fifo.length]).to.deep.equal([
      2,
      'b',
      'c',
      undefined,
      0,
    ]);
  });

  it('keeps the order across its compactions, with pushes and shifts interleaved', () => {
    const fifo = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Shift one for every two pushed, so the dead prefix grows past the compaction threshold.
    for (let round = 0; round < 5000; round++) {
      fifo.push(next++);
      fifo.push(next++);
      out.push(fifo.shift()!);
    }
    expect(fifo.length).to.equal(5000);
    while (fifo.length > 0) out.push(fifo.shift()!);
    expect(out).to.deep.equal(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('empties on clear', () => {
    const fifo = new Fifo<number>();
    fifo.push(1);
    fifo.clear();
    expect([fifo.length, fifo.shift()]).to.deep.equal([0, undefined]);
  });
});
