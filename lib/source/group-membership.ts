import { setMaxListeners } from 'node:events';
import type { Consumer } from 'kafkajs';
import type { Assignment } from '../commit/offset-tracker.js';
import type { GenerationView } from './kafka-source.js';

export interface MembershipListener {
  /** A join completed: a new generation owns `assignment`; `revoked` partitions are gone. */
  onJoin(generation: number, assignment: Assignment[]): void;
  /** The group is about to rebalance: the last chance to commit for the current generation. */
  onRebalancing(): void;
}

/**
 * Numbers each group join as a generation and keeps one AbortController per owned partition,
 * aborted when the partition is revoked, so work for it stops and its settles are ignored.
 */
export class GroupMembership implements GenerationView {
  private current = 0;
  private controllers = new Map<string, AbortController>();
  private joined = false;

  constructor(consumer: Consumer, listener: MembershipListener) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assignment = Object.entries(payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions: partitions as number[],
      }));
      this.current += 1;
      this.joined = true;
      this.reassign(assignment);
      listener.onJoin(this.current, assignment);
    });
    consumer.on(consumer.events.REBALANCING, () => listener.onRebalancing());
    consumer.on(consumer.events.STOP, () => (this.joined = false));
  }

  get generation(): number {
    return this.current;
  }

  get hasJoined(): boolean {
    return this.joined;
  }

  signalFor(topic: string, partition: number): AbortSignal {
    const key = `${topic}\u0000${partition}`;
    let controller = this.controllers.get(key);
    if (!controller) {
      controller = new AbortController();
      // Every message of the partition in flight listens to this one signal (each removes its
      // listener when it settles), so more than 10 is normal: no leak warning on stderr.
      setMaxListeners(0, controller.signal);
      this.controllers.set(key, controller);
    }
    return controller.signal;
  }

  /** Aborts the work of every partition, e.g. when shutdown gives up waiting. */
  abortAll(reason: string): void {
    for (const controller of this.controllers.values()) controller.abort(new Error(reason));
  }

  private reassign(assignment: Assignment[]): void {
    const kept = new Set(
      assignment.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}\u0000${p}`)),
    );
    for (const [key, controller] of this.controllers) {
      if (!kept.has(key)) {
        controller.abort(new Error('partition revoked'));
        this.controllers.delete(key);
      }
    }
  }
}
