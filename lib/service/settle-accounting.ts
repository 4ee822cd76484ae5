import type { Logger } from 'winston';
import type { CreditGate } from '../core/credit-gate.js';
import type { Delivery } from '../core/delivery.js';
import { errorMessage } from '../core/errors.js';
import type { Settlement } from '../core/handle-message.js';
import type { Metrics } from '../observability/metrics.js';
import type { UnsettledMessage } from '../observability/progress.js';
import { classify } from '../sinks/dead-letter.js';
import { where } from './where.js';

/**
 * What a service books for each message between its hand-off and its settle, whatever the
 * broker: when it was handed off (for the processing time, the oldest unsettled message and
 * its age), the work running (what a shutdown drain waits for), its credit, the time of the
 * last settle and the outcome metrics. What a settle means to the broker (an offset marked, an
 * ack) stays with the service. Called once per message: plain fields and method calls only.
 */
export class SettleAccounting {
  /** Messages a worker started and that have not settled: what a drain waits for. */
  running = 0;
  /** When anything last settled, for the 'progress' condition. */
  lastSettleAt = Date.now();
  /** In hand-off order: a message goes in at hand-off and leaves at settle. */
  private readonly handedOffAt = new Map<Delivery, number>();

  constructor(
    private readonly gate: CreditGate,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Messages taken in and not settled yet (the credits held). */
  get held(): number {
    return this.gate.held;
  }

  /** The source handed `delivery` to the flow. */
  handedOff(delivery: Delivery): void {
    this.handedOffAt.set(delivery, Date.now());
    this.metrics.eventsIngested.inc();
  }

  /** A worker started on a message: it will settle exactly once. */
  started(): void {
    this.running += 1;
  }

  /**
   * Books a settle: the work is done and its credit returned. False for an abandoned message
   * (shutdown, revoked partition): it is not done, so it counts in no outcome metric.
   */
  settled({ delivery, outcome, error }: Settlement): boolean {
    this.running -= 1;
    const handedOffAt = this.handedOffAt.get(delivery);
    this.handedOffAt.delete(delivery);
    this.gate.release();
    this.lastSettleAt = Date.now();
    if (outcome === 'abandoned') return false;
    const seconds = handedOffAt === undefined ? 0 : (Date.now() - handedOffAt) / 1000;
    if (outcome === 'processed') {
      this.metrics.eventsProcessed.inc();
      this.metrics.observeProcessing('processed', seconds);
    } else {
      const { stage, code } = classify(error);
      this.metrics.deadLettered(stage, code);
      this.metrics.observeProcessing('dead_lettered', seconds);
      this.logger.debug('Message dead-lettered', {
        ...where(delivery),
        stage,
        code,
        error: errorMessage(error),
      });
    }
    this.metrics.observeEndToEnd(delivery.timestamp);
    return true;
  }

  /** The first entry: entries go in at hand-off and leave at settle, so it is the oldest. */
  oldestUnsettled(): UnsettledMessage | undefined {
    const first = this.handedOffAt.entries().next();
    if (first.done) return undefined;
    const [delivery, handedOffAt] = first.value;
    return { ...where(delivery), handedOffAt };
  }

  oldestUnsettledAgeSeconds(): number {
    const oldest = this.oldestUnsettled();
    return oldest === undefined ? 0 : (Date.now() - oldest.handedOffAt) / 1000;
  }
}
