import { Observable } from 'rxjs';

/**
 * Callbacks for the abort of a signal, with one real listener per signal however many wait.
 * A partition's signal is shared by every message of the partition in progress; a listener
 * each would make adding and removing one cost time in proportion to how many are waiting (an
 * EventTarget looks for duplicates), for every message.
 */
class AbortWaiters {
  readonly callbacks = new Set<() => void>();

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', this.fire, { once: true });
  }

  private readonly fire = () => {
    registry.delete(this.signal);
    for (const callback of this.callbacks) callback();
  };

  remove(callback: () => void): void {
    if (!this.callbacks.delete(callback) || this.callbacks.size > 0) return;
    if (registry.get(this.signal) === this) registry.delete(this.signal);
    this.signal.removeEventListener('abort', this.fire);
  }
}

const registry = new WeakMap<AbortSignal, AbortWaiters>();

/**
 * Calls `callback` once when `signal` aborts (at once if it already has); the returned function
 * cancels that, and removes the signal's listener when nobody waits any more.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    callback();
    return () => undefined;
  }
  let waiters = registry.get(signal);
  if (!waiters) registry.set(signal, (waiters = new AbortWaiters(signal)));
  // A wrapper of its own, so the same callback registered twice is called twice.
  const entry = () => callback();
  waiters.callbacks.add(entry);
  const registered = waiters;
  return () => registered.remove(entry);
}

/** Emits once when `signal` aborts (for takeUntil), through onAbort's shared listener. */
export function abortOf(signal: AbortSignal): Observable<void> {
  return new Observable<void>((subscriber) => onAbort(signal, () => subscriber.next()));
}
