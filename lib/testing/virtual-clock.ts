import { asyncScheduler, type SchedulerAction, type Subscription, VirtualTimeScheduler } from 'rxjs';

type Schedule = typeof asyncScheduler.schedule;

/** The clock that owns RxJS's asyncScheduler right now, if any: there is one asyncScheduler. */
let installed: VirtualClock | undefined;

/**
 * Virtual time for RxJS's `asyncScheduler`, the scheduler every time-based RxJS operator uses by
 * default (`timer`, `delay`, `interval`, `timeout`, `debounceTime`, `retry({ delay })`…), and so
 * the one the service's retries and dead-letter write retries wait on.
 *
 * RxJS 7 has no `AsyncScheduler.delegate` any more; `TestScheduler.run` virtualizes time by
 * swapping internal providers for the span of one synchronous callback, which code awaiting
 * Promises outlives. Instead, while installed, this clock replaces `schedule` and `now` on the
 * `asyncScheduler` instance itself (public members, no RxJS internals), so every timer created
 * meanwhile, also from a Promise continuation, becomes an action of a VirtualTimeScheduler that
 * only runs when the clock is stepped. `uninstall()` puts the originals back.
 *
 * Only RxJS is virtualized: `setTimeout`, `Date.now()` and real I/O keep real time.
 */
export class VirtualClock {
  private readonly scheduler = new VirtualTimeScheduler();
  private saved:
    { schedule: PropertyDescriptor | undefined; now: PropertyDescriptor | undefined } | undefined;

  /** @param startTime what `asyncScheduler.now()` answers at virtual time 0 (epoch ms). */
  constructor(readonly startTime: number) {}

  /** Virtual milliseconds since the clock was created. */
  get elapsed(): number {
    return this.scheduler.frame;
  }

  /** The virtual time of the earliest pending timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    return this.scheduler.actions[0]?.delay;
  }

  /**
   * Routes `asyncScheduler` to this clock. Another clock still installed is uninstalled first
   * (its timers stay with it and never fire).
   */
  install(): void {
    if (installed === this) return;
    installed?.uninstall();
    this.saved = {
      schedule: Object.getOwnPropertyDescriptor(asyncScheduler, 'schedule'),
      now: Object.getOwnPropertyDescriptor(asyncScheduler, 'now'),
    };
    const scheduler = this.scheduler;
    const schedule = <T>(
      work: (this: SchedulerAction<T>, state?: T) => void,
      delay = 0,
      state?: T,
    ): Subscription =>
      // A negative delay means "now", as setTimeout reads it: virtual time never runs backwards.
      scheduler.schedule(work, Math.max(0, delay), state);
    asyncScheduler.schedule = schedule as Schedule;
    asyncScheduler.now = () => this.startTime + scheduler.frame;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the module remembers the owner
    installed = this;
  }

  /** Gives `asyncScheduler` its own `schedule` and `now` back. Safe to call more than once. */
  uninstall(): void {
    if (installed !== this || !this.saved) return;
    restore('schedule', this.saved.schedule);
    restore('now', this.saved.now);
    this.saved = undefined;
    installed = undefined;
  }

  /**
   * Runs every timer due at the earliest due time, if that is at most `until`, and leaves the
   * clock at that time. Timers those timers schedule for the same instant run too. Returns
   * false, and changes nothing, when no timer is due by `until`. An error a timer's work throws
   * (RxJS turns almost all of them into error notifications first) is thrown from here.
   */
  runNext(until: number): boolean {
    const due = this.nextDue();
    if (due === undefined || due > until) return false;
    this.scheduler.maxFrames = due;
    try {
      this.scheduler.flush();
    } finally {
      this.scheduler.maxFrames = Infinity;
    }
    return true;
  }

  /** Moves the clock forward to `time` without running anything (callers run the due timers first). */
  moveTo(time: number): void {
    if (time > this.scheduler.frame) this.scheduler.frame = time;
  }
}

function restore(name: 'schedule' | 'now', descriptor: PropertyDescriptor | undefined): void {
  if (descriptor) Object.defineProperty(asyncScheduler, name, descriptor);
  else Reflect.deleteProperty(asyncScheduler, name);
}
