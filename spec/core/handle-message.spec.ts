import { expect } from 'chai';
import { filter, map, mergeMap, Observable, of, type OperatorFunction, pipe } from 'rxjs';
import type { Delivery, WorkerSlot } from '../../lib/core/delivery.js';
import {
  handleMessage,
  type DeadLetterWriter,
  type MessageHandler,
  type Settlement,
} from '../../lib/core/handle-message.js';
import { flattenSettlements } from '../../lib/service/flatten-settlements.js';
import { makeDelivery } from '../operators/support/delivery.js';
import { marbleScheduler } from '../support/marbles.js';

/** A chain that runs `work` for the delivery: each message gets its own subscription to it. */
const runs = (work: Observable<unknown>): OperatorFunction<Delivery, unknown> => mergeMap(() => work);

/** A dead-letter writer that records its calls and answers with `result`. */
function recordingWriter(
  result: Observable<unknown>,
): DeadLetterWriter & { calls: Array<[Delivery, unknown]> } {
  const calls: Array<[Delivery, unknown]> = [];
  const writer = (delivery: Delivery, error: unknown) => {
    calls.push([delivery, error]);
    return result;
  };
  return Object.assign(writer, { calls });
}

/** A message's settlement as the runner gets it: flattened, whether known at once or later. */
const settlementOf = (handler: MessageHandler, delivery: Delivery): Observable<Settlement> =>
  handler(delivery).pipe(flattenSettlements());

const neverCalled: DeadLetterWriter = () => {
  throw new Error('the dead-letter writer must not be called');
};

describe('handleMessage', () => {
  it('settles a message whose chain completes as processed, once, when the chain completes', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const delivery = makeDelivery();
      const work = cold('  --x-y-|');
      const expected = '   ------(s|)';
      const workSubs = '   ^-----!';

      const settlements = settlementOf(handleMessage(runs(work), neverCalled), delivery);

      expectObservable(settlements).toBe(expected, {
        s: { delivery, outcome: 'processed' } satisfies Settlement,
      });
      expectSubscriptions(work.subscriptions).toBe(workSubs);
    });
  });

  it('settles a message the chain filters out as processed', () => {
    marbleScheduler().run(({ expectObservable }) => {
      const delivery = makeDelivery();
      const settlements = settlementOf(
        handleMessage(
          filter(() => false),
          neverCalled,
        ),
        delivery,
      );
      expectObservable(settlements).toBe('(s|)', { s: { delivery, outcome: 'processed' } });
    });
  });

  it('settles a message the chain filters out after some work as processed, when the work completes', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const delivery = makeDelivery();
      const work = cold('  ---|');
      const expected = '   ---(s|)';
      expectObservable(settlementOf(handleMessage(runs(work), neverCalled), delivery)).toBe(expected, {
        s: { delivery, outcome: 'processed' },
      });
    });
  });

  it('runs the chain on the delivery (with settleAfter added), and ignores what the chain emits', () => {
    const delivery = makeDelivery({ offset: '7' });
    const seen: Delivery[] = [];
    marbleScheduler().run(({ cold, expectObservable }) => {
      const chain = mergeMap((d: Delivery) => {
        seen.push(d);
        return cold('-r-r|', { r: 'side effect result' });
      });
      expectObservable(settlementOf(handleMessage(chain, neverCalled), delivery)).toBe('----(s|)', {
        s: { delivery, outcome: 'processed' },
      });
    });
    expect(seen).to.have.length(1);
    expect({ ...seen[0], settleAfter: undefined }).to.deep.equal(delivery);
    expect(seen[0]!.settleAfter).to.be.a('function');
  });

  it('gives the chain the worker slot it runs in as `delivery.worker`', () => {
    const seen: Delivery[] = [];
    const slot: WorkerSlot = { release: () => undefined, reacquire: () => of(undefined) };
    const chain = map((d: Delivery) => seen.push(d));
    handleMessage(chain, neverCalled)(makeDelivery(), slot).subscribe();
    expect(seen).to.have.length(1);
    expect(seen[0]!.worker).to.equal(slot);
  });

  // A writer's diagram starts at the frame the writer is subscribed, i.e. where the chain failed.
  it('dead-letters a failed message only once the writer emits', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const delivery = makeDelivery();
      const failure = new Error('handler exploded');
      const work = cold('  --#', undefined, failure);
      const written = cold(' --a|');
      // Settled (and done) as soon as the broker acknowledged the dead letter.
      const expected = '   ----(d|)';
      const writerSubs = ' --^-!';

      const writer = recordingWriter(written);
      expectObservable(settlementOf(handleMessage(runs(work), writer), delivery)).toBe(expected, {
        d: { delivery, outcome: 'dead-lettered', error: failure } satisfies Settlement,
      });
      expectSubscriptions(written.subscriptions).toBe(writerSubs);

      flush();
      expect(writer.calls).to.have.length(1);
      expect(writer.calls[0]?.[0]).to.equal(delivery);
      expect(writer.calls[0]?.[1]).to.equal(failure);
    });
  });

  it('abandons a failed message when the writer completes without a value (aborted write)', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const delivery = makeDelivery();
      const failure = new Error('handler exploded');
      const work = cold('  -#', undefined, failure);
      const written = cold('---|');
      const expected = '   ----(a|)';
      const writerSubs = ' -^--!';

      expectObservable(settlementOf(handleMessage(runs(work), recordingWriter(written)), delivery)).toBe(
        expected,
        {
          a: { delivery, outcome: 'abandoned', error: failure } satisfies Settlement,
        },
      );
      expectSubscriptions(written.subscriptions).toBe(writerSubs);
    });
  });

  it('abandons a message that fails after its delivery was aborted, without writing a dead letter', () => {
    marbleScheduler().run(({ cold, expectObservable, flush }) => {
      const controller = new AbortController();
      const delivery = makeDelivery({ signal: controller.signal });
      const failure = new Error('aborted mid-flight');
      const work = cold('  ----#', undefined, failure);
      const abortAt = '    --x';
      const expected = '   ----(a|)';

      cold(abortAt).subscribe(() => controller.abort());
      const writer = recordingWriter(cold('a|'));
      expectObservable(settlementOf(handleMessage(runs(work), writer), delivery)).toBe(expected, {
        a: { delivery, outcome: 'abandoned', error: failure } satisfies Settlement,
      });

      flush();
      expect(writer.calls).to.deep.equal([]);
    });
  });

  it('still dead-letters a failure when the delivery was not aborted', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const controller = new AbortController();
      const delivery = makeDelivery({ signal: controller.signal });
      const failure = new Error('plain failure');
      const work = cold('  --#', undefined, failure);
      const abortAt = '    ----x';
      const expected = '   --(d|)';

      cold(abortAt).subscribe(() => controller.abort());
      expectObservable(settlementOf(handleMessage(runs(work), recordingWriter(cold('(a|)'))), delivery)).toBe(
        expected,
        {
          d: { delivery, outcome: 'dead-lettered', error: failure },
        },
      );
    });
  });

  it('keeps the message unsettled while the dead-letter write never succeeds', () => {
    marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const delivery = makeDelivery();
      const work = cold('  --#', undefined, new Error('handler exploded'));
      const written = cold(' -');
      const expected = '   ---------';
      const writerSubs = ' --^';

      expectObservable(settlementOf(handleMessage(runs(work), recordingWriter(written)), delivery)).toBe(
        expected,
      );
      expectSubscriptions(written.subscriptions).toBe(writerSubs);
    });
  });

  it('lets a failing dead-letter write error the message’s stream, unsettled', () => {
    marbleScheduler().run(({ cold, expectObservable }) => {
      const delivery = makeDelivery();
      const writeError = new Error('dlq down');
      const work = cold('  -#', undefined, new Error('handler exploded'));
      const written = cold('--#', undefined, writeError);
      const expected = '   ---#';

      expectObservable(settlementOf(handleMessage(runs(work), recordingWriter(written)), delivery)).toBe(
        expected,
        undefined,
        writeError,
      );
    });
  });

  describe('writes handed over with settleAfter', () => {
    /** A chain that hands `acks` over for the message, then does `after` (default: nothing). */
    const handsOver = (
      acks: Observable<unknown>[],
      after?: Observable<unknown>,
    ): OperatorFunction<Delivery, unknown> =>
      pipe(
        map((d: Delivery) => {
          for (const ack of acks) d.settleAfter!(ack);
          return d;
        }),
        mergeMap((d) => after ?? of(d)),
      );
    /** What the worker hands on: 'p' for a pending settlement, 's' for one already known. */
    const workerView = (handler: MessageHandler, delivery: Delivery) =>
      handler(delivery).pipe(map((result) => (result instanceof Observable ? 'p' : 's')));

    it('lets the worker go when the chain is done, and settles once the write is acknowledged', () => {
      marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const delivery = makeDelivery();
        const ack = cold('   ----a|');
        const ackSubs = '    ^----!';
        const handler = handleMessage(handsOver([ack]), neverCalled);

        expectObservable(workerView(handler, delivery)).toBe('(p|)');
        expectObservable(settlementOf(handler, delivery)).toBe('-----(s|)', {
          s: { delivery, outcome: 'processed' } satisfies Settlement,
        });
        // One subscription per run above: each run of the handler writes again.
        expectSubscriptions(ack.subscriptions).toBe([ackSubs, ackSubs]);
      });
    });

    it('waits for every handed-over write, and dead-letters the message with the first failure', () => {
      marbleScheduler().run(({ cold, expectObservable }) => {
        const delivery = makeDelivery();
        const writeError = new Error('output write failed');
        const failing = cold('-#', undefined, writeError);
        const slow = cold('   ----|');
        const written = cold('     -a|');
        const expected = '    -----(d|)';

        const writer = recordingWriter(written);
        expectObservable(settlementOf(handleMessage(handsOver([failing, slow]), writer), delivery)).toBe(
          expected,
          { d: { delivery, outcome: 'dead-lettered', error: writeError } satisfies Settlement },
        );
      });
    });

    it('stops the handed-over writes when the chain fails afterwards, and dead-letters the chain’s error', () => {
      marbleScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const delivery = makeDelivery();
        const failure = new Error('later stage failed');
        const ack = cold('   ------|');
        const ackSubs = '    ^-!';
        const after = cold(' --#', undefined, failure);
        const handler = handleMessage(handsOver([ack], after), recordingWriter(cold('a|')));

        expectObservable(settlementOf(handler, delivery)).toBe('--(d|)', {
          d: { delivery, outcome: 'dead-lettered', error: failure } satisfies Settlement,
        });
        expectSubscriptions(ack.subscriptions).toBe(ackSubs);
      });
    });

    it('lets the worker go before the dead letter of a failed chain is written', () => {
      marbleScheduler().run(({ cold, expectObservable }) => {
        const delivery = makeDelivery();
        const work = cold('--#', undefined, new Error('handler exploded'));
        const handler = handleMessage(runs(work), recordingWriter(cold('---a|')));
        expectObservable(workerView(handler, delivery)).toBe('--(p|)');
      });
    });

    it('abandons a message aborted while its writes are unacknowledged, and stops waiting for them', () => {
      marbleScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
        const controller = new AbortController();
        const delivery = makeDelivery({ signal: controller.signal });
        const ack = cold('   ------|');
        const ackSubs = '    ^-!';
        const abortAt = '    --x';

        cold(abortAt).subscribe(() => controller.abort());
        const writer = recordingWriter(cold('a|'));
        expectObservable(settlementOf(handleMessage(handsOver([ack]), writer), delivery)).toBe('--(a|)', {
          a: { delivery, outcome: 'abandoned' } satisfies Settlement,
        });
        expectSubscriptions(ack.subscriptions).toBe(ackSubs);
        flush();
        expect(writer.calls).to.deep.equal([]);
      });
    });
  });
});
