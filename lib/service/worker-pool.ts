import {
  asapScheduler,
  merge,
  Observable,
  type Observer,
  of,
  Subject,
  type Subscriber,
  type Subscription,
  tap,
  throwError,
} from 'rxjs';
import type { Delivery, WorkerSlot } from '../core/delivery.js';
import type { MessageHandler, WorkerResult } from '../core/handle-message.js';

/**
 * When a worker frees up, mergeMap starts the next buffered turn from inside the finished one's
 * teardown, so a run of turns that complete synchronously (filtered messages, or everything
 * during shutdown) nests one call chain per buffered message. Past this depth the next start is
 * moved to a microtask, so a full buffer never overflows the stack.
 */
const MAX_SYNCHRONOUS_DEPTH = 64;

/**
 * The worker slots: `mergeMap(turn, concurrency)` over the messages to start, merged with the
 * turns that messages already started ask for again. A message's chain (handle) is subscribed
 * on its first turn and lives until it is done, but holds a slot only while it works: a stage
 * that waits out a retry's backoff gives the slot back (`WorkerSlot.release`, which ends the
 * turn) and asks for a new turn when the wait is over (`reacquire`), which queues behind the
 * messages already waiting, in the same mergeMap buffer. So at most `concurrency` chains work
 * at once, and a message in backoff holds up none of the others.
 *
 * A chain emits its WorkerResult through the turn it holds. One that ends while holding none
 * (its partition was revoked during the backoff) hands its result on in a turn of its own.
 * Messages that never give their slot back cost a Job each and nothing else. Subscribe to
 * `run(...)` once.
 */
export class WorkerPool {
  /** Messages whose first turn began. */
  started = 0;
  /** Messages holding a slot now. */
  inFlight = 0;
  /** Messages that gave their slot back to wait, and have not taken one again yet. */
  readonly parked = new Set<Job>();
  /** Turns asked for by messages already started; they queue with the new messages. */
  readonly moreTurns = new Subject<Observable<WorkerResult>>();
  /** Chains not done yet. */
  private live = 0;
  private intakeDone = false;
  private depth = 0;

  constructor(private readonly handle: MessageHandler) {}

  /**
   * The turns to run: the new messages of `deliveries`, merged with the turns that messages
   * already started ask for again. Run each with `mergeMap(pool.inWorkerSlot, concurrency)`;
   * subscribe once.
   */
  turns(deliveries: Observable<Delivery>): Observable<Delivery | Observable<WorkerResult>> {
    const intake = deliveries.pipe(
      tap({
        complete: () => {
          this.intakeDone = true;
          if (this.live === 0) this.moreTurns.complete();
        },
      }),
    );
    // Unsubscribed before every chain was done (the pipeline ended early, or failed): no turn
    // is left to end the chains waiting without one.
    const resumed = this.moreTurns.pipe(tap({ unsubscribe: () => this.stopParked() }));
    return merge(intake, resumed);
  }

  /**
   * A turn in a worker slot: a new message's chain, started with `handle` (it holds the slot
   * until it completes or gives the slot back), or a started message's next turn.
   */
  readonly inWorkerSlot = (work: Delivery | Observable<WorkerResult>): Observable<WorkerResult> =>
    work instanceof Observable ? work : this.firstTurn(work);

  /** A chain is done: once the intake has ended too, nothing can ask for a turn any more. */
  ended(): void {
    this.live -= 1;
    if (this.intakeDone && this.live === 0) this.moreTurns.complete();
  }

  /** Runs `start` now, or in a microtask when nested too deep in synchronous completions. */
  enter(start: () => void): Subscription | undefined {
    if (this.depth >= MAX_SYNCHRONOUS_DEPTH) return asapScheduler.schedule(() => this.enter(start));
    this.depth += 1;
    try {
      start();
    } finally {
      this.depth -= 1;
    }
    return undefined;
  }

  private firstTurn(delivery: Delivery): Observable<WorkerResult> {
    return new Observable<WorkerResult>((slot) => {
      this.started += 1;
      this.live += 1;
      const job = new Job(this, delivery, slot);
      const deferred = this.enter(() => job.start(this.handle));
      return () => {
        deferred?.unsubscribe();
        job.vacate(slot);
      };
    });
  }

  private stopParked(): void {
    const parked = [...this.parked];
    this.parked.clear();
    for (const job of parked) job.stop();
  }
}

/**
 * One message's chain and the slot it holds, if any. Branches of one chain working at the
 * same time (a chain may fan out) share the slot: it goes back only when none of them needs it.
 */
class Job implements Observer<WorkerResult>, WorkerSlot {
  private chain: Subscription | undefined;
  /** The turn held now; undefined while the message waits. */
  private slot: Subscriber<WorkerResult> | undefined;
  /** Branches of the chain that need the slot (released ones do not). */
  private holders = 1;
  private done = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly delivery: Delivery,
    slot: Subscriber<WorkerResult>,
  ) {
    this.slot = slot;
    pool.inFlight += 1;
  }

  start(handle: MessageHandler): void {
    this.chain = handle(this.delivery, this).subscribe(this);
  }

  /** Ends the chain: the pipeline was unsubscribed. */
  stop(): void {
    this.chain?.unsubscribe();
  }

  next(result: WorkerResult): void {
    if (this.slot) this.slot.next(result);
    else this.pool.moreTurns.next(of(result));
  }

  error(error: unknown): void {
    const slot = this.slot;
    if (!slot) this.pool.moreTurns.next(throwError(() => error));
    this.end();
    slot?.error(error);
  }

  complete(): void {
    this.end();
    this.slot?.complete();
  }

  /**
   * The teardown of a turn: the chain ended, or the pipeline is being unsubscribed. A turn
   * the chain gave back earlier is not its slot any more, and the chain lives on.
   */
  vacate(slot: Subscriber<WorkerResult>): void {
    if (this.slot !== slot) return;
    this.slot = undefined;
    this.pool.inFlight -= 1;
    this.chain?.unsubscribe();
  }

  release(): void {
    if (!this.slot || --this.holders > 0) return;
    const slot = this.slot;
    this.slot = undefined;
    this.pool.inFlight -= 1;
    this.pool.parked.add(this);
    // Ends the turn: mergeMap starts the next waiting one in its place.
    slot.complete();
  }

  reacquire(): Observable<void> {
    return new Observable<void>((waiter) => {
      if (this.slot || this.done) {
        // Another branch still holds the slot, or the chain let go of its worker for good
        // (work after that, such as acknowledgements, runs outside the pool).
        if (this.slot) this.holders += 1;
        waiter.next();
        waiter.complete();
        return;
      }
      let granted = false;
      let withdrawn = false;
      this.pool.moreTurns.next(
        new Observable<WorkerResult>((slot) => {
          const deferred = this.pool.enter(() => {
            if (withdrawn) return slot.complete();
            granted = true;
            this.resume(slot, waiter);
          });
          return () => {
            deferred?.unsubscribe();
            this.vacate(slot);
          };
        }),
      );
      // Given up (its partition was revoked, or the pipeline ended): the turn, once it comes,
      // passes at once.
      return () => {
        if (!granted) withdrawn = true;
      };
    });
  }

  /** A turn asked for by `reacquire` came: the branch that asked goes on. */
  private resume(slot: Subscriber<WorkerResult>, waiter: Subscriber<void>): void {
    if (this.slot) this.holders += 1;
    else if (!this.done) {
      this.slot = slot;
      this.holders = 1;
      this.pool.inFlight += 1;
      this.pool.parked.delete(this);
    }
    const occupied = this.slot === slot;
    waiter.next();
    waiter.complete();
    // Another branch held the slot already, or the chain had let go of its worker: the turn
    // is not needed and passes to the next in line.
    if (!occupied) slot.complete();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.pool.parked.delete(this);
    this.pool.ended();
  }
}
