import { expect } from 'chai';
import { filter, mergeMap, type Observable, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Delivery } from '../../lib/pipeline/delivery.js';
import { handleMessage, type DeadLetterWriter, type Settlement } from '../../lib/pipeline/handle-message.js';
import { makeDelivery } from '../operators/support/delivery.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });

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

const neverCalled: DeadLetterWriter = () => {
  throw new Error('the dead-letter writer must not be called');
};

describe('handleMessage', () => {
  it('settles a message whose chain completes as processed, once, when the chain completes', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const delivery = makeDelivery();
      const work = cold('  --x-y-|');
      const expected = '   ------(s|)';
      const workSubs = '   ^-----!';

      const settlements = handleMessage(runs(work), neverCalled)(delivery);

      expectObservable(settlements).toBe(expected, {
        s: { delivery, outcome: 'processed' } satisfies Settlement,
      });
      expectSubscriptions(work.subscriptions).toBe(workSubs);
    });
  });

  it('settles a message the chain filters out as processed', () => {
    testScheduler().run(({ expectObservable }) => {
      const delivery = makeDelivery();
      const settlements = handleMessage(
        filter(() => false),
        neverCalled,
      )(delivery);
      expectObservable(settlements).toBe('(s|)', { s: { delivery, outcome: 'processed' } });
    });
  });

  it('settles a message the chain filters out after some work as processed, when the work completes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const delivery = makeDelivery();
      const work = cold('  ---|');
      const expected = '   ---(s|)';
      expectObservable(handleMessage(runs(work), neverCalled)(delivery)).toBe(expected, {
        s: { delivery, outcome: 'processed' },
      });
    });
  });

  it('runs the chain on the delivery itself, and ignores what the chain emits', () => {
    const delivery = makeDelivery({ offset: '7' });
    const seen: Delivery[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const chain = mergeMap((d: Delivery) => {
        seen.push(d);
        return cold('-r-r|', { r: 'side effect result' });
      });
      expectObservable(handleMessage(chain, neverCalled)(delivery)).toBe('----(s|)', {
        s: { delivery, outcome: 'processed' },
      });
    });
    expect(seen).to.have.length(1);
    expect(seen[0]).to.equal(delivery);
  });

  // A writer's diagram starts at the frame the writer is subscribed, i.e. where the chain failed.
  it('dead-letters a failed message only once the writer emits', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const delivery = makeDelivery();
      const failure = new Error('handler exploded');
      const work = cold('  --#', undefined, failure);
      const written = cold(' --a|');
      // Settled (and done) as soon as the broker acknowledged the dead letter.
      const expected = '   ----(d|)';
      const writerSubs = ' --^-!';

      const writer = recordingWriter(written);
      expectObservable(handleMessage(runs(work), writer)(delivery)).toBe(expected, {
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
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const delivery = makeDelivery();
      const failure = new Error('handler exploded');
      const work = cold('  -#', undefined, failure);
      const written = cold('---|');
      const expected = '   ----(a|)';
      const writerSubs = ' -^--!';

      expectObservable(handleMessage(runs(work), recordingWriter(written))(delivery)).toBe(expected, {
        a: { delivery, outcome: 'abandoned', error: failure } satisfies Settlement,
      });
      expectSubscriptions(written.subscriptions).toBe(writerSubs);
    });
  });

  it('abandons a message that fails after its delivery was aborted, without writing a dead letter', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const controller = new AbortController();
      const delivery = makeDelivery({ signal: controller.signal });
      const failure = new Error('aborted mid-flight');
      const work = cold('  ----#', undefined, failure);
      const abortAt = '    --x';
      const expected = '   ----(a|)';

      cold(abortAt).subscribe(() => controller.abort());
      const writer = recordingWriter(cold('a|'));
      expectObservable(handleMessage(runs(work), writer)(delivery)).toBe(expected, {
        a: { delivery, outcome: 'abandoned', error: failure } satisfies Settlement,
      });

      flush();
      expect(writer.calls).to.deep.equal([]);
    });
  });

  it('still dead-letters a failure when the delivery was not aborted', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const controller = new AbortController();
      const delivery = makeDelivery({ signal: controller.signal });
      const failure = new Error('plain failure');
      const work = cold('  --#', undefined, failure);
      const abortAt = '    ----x';
      const expected = '   --(d|)';

      cold(abortAt).subscribe(() => controller.abort());
      expectObservable(handleMessage(runs(work), recordingWriter(cold('(a|)')))(delivery)).toBe(expected, {
        d: { delivery, outcome: 'dead-lettered', error: failure },
      });
    });
  });

  it('keeps the message unsettled while the dead-letter write never succeeds', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const delivery = makeDelivery();
      const work = cold('  --#', undefined, new Error('handler exploded'));
      const written = cold(' -');
      const expected = '   ---------';
      const writerSubs = ' --^';

      expectObservable(handleMessage(runs(work), recordingWriter(written))(delivery)).toBe(expected);
      expectSubscriptions(written.subscriptions).toBe(writerSubs);
    });
  });

  it('lets a failing dead-letter write error the message’s stream, unsettled', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const delivery = makeDelivery();
      const writeError = new Error('dlq down');
      const work = cold('  -#', undefined, new Error('handler exploded'));
      const written = cold('--#', undefined, writeError);
      const expected = '   ---#';

      expectObservable(handleMessage(runs(work), recordingWriter(written))(delivery)).toBe(
        expected,
        undefined,
        writeError,
      );
    });
  });
});
