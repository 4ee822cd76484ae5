import { EMPTY, of } from 'rxjs';
import type { MessageHandler, WorkerResult } from '../core/handle-message.js';
import type { SettleAccounting } from './settle-accounting.js';

/**
 * The guard a service puts around each handle. Once shutdown began, messages still waiting for
 * a worker are not started: they go back to the broker (uncommitted, or unacked), so the drain
 * waits only for work already running. Every handle that starts emits exactly one settlement
 * (an abort turns a stuck dead-letter write into 'abandoned'), so `accounting.running` counts
 * the work a drain must wait for, messages waiting out a retry backoff included: they take a
 * worker again for their next attempt. A message whose delivery was aborted while it waited
 * (a revoked partition) is not started: it settles as abandoned.
 */
export function unlessStopping(
  isStopping: () => boolean,
  accounting: SettleAccounting,
): (handle: MessageHandler) => MessageHandler {
  return (handle) => (delivery, worker) => {
    if (isStopping()) return EMPTY;
    accounting.started();
    if (delivery.signal.aborted) return of<WorkerResult>({ delivery, outcome: 'abandoned' });
    return handle(delivery, worker);
  };
}
