/** What `/readyz` reports: ready only when every condition is ok. */
export interface ReadinessReport {
  ready: boolean;
  reasons: string[];
}

/** The conditions the service reports on: `new Readiness(SERVICE_CONDITIONS)`. */
export const SERVICE_CONDITIONS = ['consumer', 'producer', 'dlq', 'progress'] as const;
export type ServiceCondition = (typeof SERVICE_CONDITIONS)[number];

interface ConditionState {
  ok: boolean;
  reason: string | undefined;
}

/**
 * Named readiness conditions. The names are fixed at construction so a condition nobody has
 * reported yet counts as not ready: a service that has not joined its group is not ready.
 */
export class Readiness<N extends string = string> {
  private readonly states = new Map<N, ConditionState | undefined>();

  constructor(names: readonly N[]) {
    for (const name of names) this.states.set(name, undefined);
  }

  set(name: N, ok: boolean, reason?: string): void {
    if (!this.states.has(name)) throw new Error(`Unknown readiness condition: ${name}`);
    const current = this.states.get(name);
    // Set on every acknowledged write: a state that did not change makes no new object.
    if (current !== undefined && current.ok === ok && current.reason === reason) return;
    this.states.set(name, { ok, reason });
  }

  readiness(): ReadinessReport {
    const reasons: string[] = [];
    for (const [name, state] of this.states) {
      if (state === undefined) reasons.push(`${name}: not reported yet`);
      else if (!state.ok) reasons.push(`${name}: ${state.reason ?? 'not ready'}`);
    }
    return { ready: reasons.length === 0, reasons };
  }
}
