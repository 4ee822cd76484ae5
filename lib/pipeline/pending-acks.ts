import { Observable, Subscription } from 'rxjs';

/** How the acknowledgements of one message ended: all fine, or the first failure. */
export type AcksOutcome = { failed: false } | { failed: true; error: unknown };

/**
 * The acknowledgements one message is still waiting for: writes a stage handed over with
 * `delivery.settleAfter` instead of waiting for them itself. Each is subscribed as it is added
 * (the write goes out at once); `whenSettled` emits once every one of them has ended, with the
 * first failure if any. Cancelling unsubscribes what is still running.
 */
export class PendingAcks {
  private readonly running = new Subscription();
  private open = 0;
  private firstFailure: { error: unknown } | undefined;
  private onIdle: (() => void) | undefined;

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
      if (this.open === 0) this.onIdle?.();
    };
    const subscription = ack.subscribe({
      error: (error: unknown) => {
        this.firstFailure ??= { error };
        end();
      },
      complete: end,
    });
    if (!ended) this.running.add(subscription);
  }

  /** Emits the outcome once nothing is open any more, then completes. */
  whenSettled(): Observable<AcksOutcome> {
    return new Observable<AcksOutcome>((subscriber) => {
      const emit = () => {
        this.onIdle = undefined;
        subscriber.next(
          this.firstFailure ? { failed: true, error: this.firstFailure.error } : { failed: false },
        );
        subscriber.complete();
      };
      if (this.open === 0) emit();
      else this.onIdle = emit;
      return () => {
        this.onIdle = undefined;
        this.running.unsubscribe();
      };
    });
  }

  cancel(): void {
    this.onIdle = undefined;
    this.running.unsubscribe();
  }
}
