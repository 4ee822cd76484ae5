/**
 * Bounds the messages fetched but not yet settled. Intake takes a credit per message before
 * handing it to the pipeline and a settle gives it back; with no credit left, intake waits
 * instead of buffering, which is what keeps memory flat whatever the backlog on the topic.
 */
export class CreditGate {
  private inUse = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
  }

  /** Credits taken and not yet returned: messages somewhere between intake and settle. */
  get held(): number {
    return this.inUse;
  }

  tryAcquire(): boolean {
    if (this.inUse >= this.capacity) return false;
    this.inUse += 1;
    return true;
  }

  release(): void {
    if (this.inUse === 0) throw new Error('CreditGate.release without a matching acquire');
    this.inUse -= 1;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once at least `count` credits are free (at most the capacity), or after
   * `timeoutMs` at the latest, so a waiting intake gets the chance to heartbeat and to notice
   * a stale batch or a shutdown. Waiting for several credits at once, rather than waking for
   * each one returned, keeps a full pipeline from paying a timer and a wake-up per message.
   */
  waitForRelease(timeoutMs: number, count = 1): Promise<void> {
    const wanted = Math.min(Math.max(1, count), this.capacity);
    if (this.capacity - this.inUse >= wanted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const check = () => {
        if (this.capacity - this.inUse >= wanted) done();
        else this.waiters.push(check);
      };
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(check);
    });
  }
}
