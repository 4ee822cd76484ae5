import type { Observable, Unsubscribable } from 'rxjs';

/** How the acknowledgements of one message ended: all fine, or the first failure. */
export type AcksOutcome = { failed: false } | { failed: true; error: unknown };

/**
 * The acknowledgements one message is still waiting for: writes a stage handed over with
 * `delivery.settleAfter` instead of waiting for them itself. Each is subscribed as it is added
 * (the write goes out at once); `onSettled` reports once every one of them has ended, with the
 * first failure if any. Cancelling unsubscribes what is still running.
 */
export class PendingAcks {
  private running: Unsubscribable[] | undefined;
  private open = 0;
  private firstFailure: { error: unknown } | undefined;
  private onIdle: ((outcome: AcksOutcome) => void) | undefined;

  /** Nothing was added, or everything added has succeeded. */
  get isEmpty(): boolean {
    return this.open === 0 && this.firstFailure === undefined;
  }

  add(ack: Observable<unknown>): void {
    this.open += 1;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.open -= 1;
      if (this.open === 0 && this.onIdle) this.report(this.onIdle);
    };
    const subscription = ack.subscribe({
      error: (error: unknown) => {
        this.firstFailure ??= { error };
        end();
      },
      complete: end,
    });
    if (!ended) (this.running ??= []).push(subscription);
  }

  /** Calls `callback` once, when nothing is open any more (at once if nothing is). */
  onSettled(callback: (outcome: AcksOutcome) => void): void {
    if (this.open === 0) this.report(callback);
    else this.onIdle = callback;
  }

  cancel(): void {
    this.onIdle = undefined;
    const running = this.running;
    this.running = undefined;
    for (const subscription of running ?? []) subscription.unsubscribe();
  }

  private report(callback: (outcome: AcksOutcome) => void): void {
    this.onIdle = undefined;
    this.running = undefined;
    callback(this.firstFailure ? { failed: true, error: this.firstFailure.error } : { failed: false });
  }
}
