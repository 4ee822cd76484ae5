import type { Logger } from 'winston';
import { progressOf } from '../observability/progress.js';
import type { Readiness, ServiceCondition } from '../observability/readiness.js';
import type { SettleAccounting } from './settle-accounting.js';

export interface ProgressWatchOptions {
  accounting: SettleAccounting;
  readiness: Readiness<ServiceCondition>;
  logger: Logger;
  /** No settle for this long while messages are held is no progress (default 120 s). */
  stuckAfterMs?: number;
  /** One message unsettled this long is stuck (STUCK_MESSAGE_MS, default 300 s). */
  stuckMessageMs?: number;
}

/** Sets the 'progress' condition of /readyz from what the accounting holds; a service calls check() every second. */
export class ProgressWatch {
  private progressing = true;

  constructor(private readonly options: ProgressWatchOptions) {}

  check(now = Date.now()): void {
    const { accounting, readiness, logger } = this.options;
    const oldest = accounting.oldestUnsettled();
    const { ok, reason } = progressOf({
      now,
      held: accounting.held,
      lastSettleAt: accounting.lastSettleAt,
      oldest,
      stuckAfterMs: this.options.stuckAfterMs ?? 120_000,
      stuckMessageMs: this.options.stuckMessageMs ?? 300_000,
    });
    // Logged once as it turns, not every second: /readyz and the age metric say the rest.
    if (!ok && this.progressing) logger.warn('No progress', { reason, oldest });
    this.progressing = ok;
    readiness.set('progress', ok, reason);
  }
}
