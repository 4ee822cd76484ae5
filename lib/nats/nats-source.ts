import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { Observable, type Subscriber } from 'rxjs';
import type { Delivery, DeliveryHooks } from '../core/delivery.js';
import type { Outcome } from '../core/handle-message.js';
import type { CreditGate } from '../core/credit-gate.js';
import { natsDelivery } from './nats-delivery.js';

export interface NatsSourceOptions {
  /** The durable pull consumer (its max_ack_pending matches the gate's capacity). */
  consumer: Pick<Consumer, 'fetch'>;
  gate: CreditGate;
  hooks: DeliveryHooks;
  /** The consumer's ack wait: a message held longer is kept alive with in-progress acks. */
  ackWaitMs: number;
  /** How long one pull waits for messages on an idle stream (at least 1000, the client's minimum). */
  expiresMs?: number;
  /** Called for each message right before the pipeline gets it. */
  onHandOff(delivery: Delivery): void;
  /** Messages of the consumer not delivered yet, after each pull that brought some. */
  onPending?(pending: number): void;
  /** A pull failed (connection lost, consumer or stream gone); intake tries again after a second. */
  onPullFailed?(error: unknown): void;
  /** A pull succeeded, after failures or not. */
  onPulled?(): void;
}

/** What the service does with the source besides subscribing. */
export interface NatsSourceControl {
  stopIntake(): void;
  /** Acknowledges a settled message; an abandoned one is handed back for redelivery now. */
  settle(delivery: Delivery, outcome: Outcome): void;
  /** Aborts every message taken: the shutdown gave up waiting for them. */
  abortAll(reason: string): void;
  /** Hands back for redelivery every message taken and not settled (never started ones). */
  releaseUnsettled(): void;
}

/**
 * The durable consumer's messages as an Observable of deliveries, credit-gated like the Kafka
 * source: a pull asks for as many messages as there are free credits, each message takes one,
 * and with none free intake waits instead of buffering. A message is acknowledged only by
 * `settle` (processed, or dead-lettered); until then it counts against the consumer's
 * max_ack_pending, and every third of the ack wait it is told to the server as still in
 * progress, so a long retry does not have it delivered twice. Messages never acknowledged (a
 * crash) are delivered again once the ack wait is over.
 */
export function natsSource(options: NatsSourceOptions): Observable<Delivery> & NatsSourceControl {
  const { gate, ackWaitMs } = options;
  let intakeOpen = true;
  let stopPull: (() => void) | undefined;
  const aborter = new AbortController();
  // Insertion order is hand-off order: the oldest messages come first.
  const held = new Map<Delivery, { message: JsMsg; at: number }>();
  const keepAliveEvery = Math.max(100, Math.floor(ackWaitMs / 3));

  const keepAlive = setInterval(() => {
    const due = Date.now() - keepAliveEvery;
    for (const { message, at } of held.values()) {
      if (at > due) break;
      quietly(() => message.working());
    }
  }, keepAliveEvery);
  keepAlive.unref();

  const source = new Observable<Delivery>((subscriber) => {
    pullWhileOpen(subscriber).catch((error: unknown) => subscriber.error(error));
    return () => {
      intakeOpen = false;
      stopPull?.();
    };
  });

  async function pullWhileOpen(subscriber: Subscriber<Delivery>): Promise<void> {
    const isOpen = () => intakeOpen && !subscriber.closed;
    const enough = Math.max(1, Math.ceil(gate.capacity / 4));
    while (isOpen()) {
      const free = gate.capacity - gate.held;
      if (free < enough) {
        // Like the Kafka source: resume once a quarter of the credits is back, not per credit.
        await gate.waitForRelease(1000, enough);
        continue;
      }
      try {
        const messages = await options.consumer.fetch({
          max_messages: free,
          expires: Math.max(1000, options.expiresMs ?? 1000),
        });
        stopPull = () => messages.stop();
        let last: JsMsg | undefined;
        for await (const message of messages) {
          last = message;
          if (!isOpen() || !gate.tryAcquire()) {
            // Intake stopped while the pull was answered: back to the stream at once.
            quietly(() => message.nak());
            continue;
          }
          const delivery = natsDelivery(message, aborter.signal, options.hooks);
          held.set(delivery, { message, at: Date.now() });
          options.onHandOff(delivery);
          subscriber.next(delivery);
        }
        stopPull = undefined;
        options.onPulled?.();
        if (last) options.onPending?.(last.info.pending);
      } catch (error) {
        stopPull = undefined;
        if (!isOpen()) return;
        options.onPullFailed?.(error);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  const release = (delivery: Delivery, settled: boolean) => {
    const entry = held.get(delivery);
    if (!entry) return;
    held.delete(delivery);
    quietly(() => (settled ? entry.message.ack() : entry.message.nak()));
  };

  return Object.assign(source, {
    stopIntake: () => {
      intakeOpen = false;
      stopPull?.();
    },
    settle: (delivery: Delivery, outcome: Outcome) => release(delivery, outcome !== 'abandoned'),
    abortAll: (reason: string) => aborter.abort(new Error(reason)),
    releaseUnsettled: () => {
      clearInterval(keepAlive);
      for (const delivery of [...held.keys()]) release(delivery, false);
    },
  });
}

/**
 * Acks, naks and in-progress acks are fire-and-forget publishes; on a closed connection the
 * client throws, and the server then delivers the message again after the ack wait anyway.
 */
function quietly(send: () => void): void {
  try {
    send();
  } catch {
    // See above: redelivery covers it.
  }
}
