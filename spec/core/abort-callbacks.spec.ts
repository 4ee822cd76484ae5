import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { abortOf, onAbort } from '../../lib/core/abort-callbacks.js';

describe('onAbort', () => {
  it('calls every waiting callback once on abort, through one listener on the signal', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    onAbort(controller.signal, () => calls.push('a'));
    onAbort(controller.signal, () => calls.push('b'));
    onAbort(controller.signal, () => calls.push('c'));
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);

    controller.abort();
    controller.abort();
    expect(calls).to.deep.equal(['a', 'b', 'c']);
  });

  it('does not call a cancelled callback, and removes the listener when none is left', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const cancelA = onAbort(controller.signal, () => calls.push('a'));
    const cancelB = onAbort(controller.signal, () => calls.push('b'));
    cancelA();
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    cancelB();
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);

    onAbort(controller.signal, () => calls.push('c'));
    controller.abort();
    expect(calls).to.deep.equal(['c']);
  });

  it('calls the callback at once for a signal already aborted', () => {
    const calls: string[] = [];
    onAbort(AbortSignal.abort(), () => calls.push('now'));
    expect(calls).to.deep.equal(['now']);
  });

  it('keeps signals apart', () => {
    const first = new AbortController();
    const second = new AbortController();
    const calls: string[] = [];
    onAbort(first.signal, () => calls.push('first'));
    onAbort(second.signal, () => calls.push('second'));
    second.abort();
    expect(calls).to.deep.equal(['second']);
  });
});

describe('abortOf', () => {
  it('emits once on abort, and lets go of the signal when unsubscribed', () => {
    const controller = new AbortController();
    let emitted = 0;
    const first = abortOf(controller.signal).subscribe(() => (emitted += 1));
    const second = abortOf(controller.signal).subscribe(() => (emitted += 10));
    second.unsubscribe();
    controller.abort();
    expect(emitted).to.equal(1);
    first.unsubscribe();
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });
});
