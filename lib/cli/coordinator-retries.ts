/**
 * Coordinator answers a later attempt gets past: the offsets topic is still loading (on a
 * broker that never had a consumer group yet), or the group's coordinator moved.
 */
const COORDINATOR_NOT_READY: ReadonlySet<string> = new Set([
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
]);

export interface CoordinatorRetryOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  /** Waits between attempts; replaced in specs. */
  wait?: (ms: number) => Promise<void>;
}

/** 250 ms, doubling, at most 2 s: eight attempts span under 10 s. */
export function coordinatorRetryDelay(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 2000);
}

/**
 * Runs a request to a group coordinator again while the coordinator is not ready. The
 * consumer retries these itself; kafkajs 2.2.4's admin.fetchOffsets does not, so a replay
 * started as the first group of a broker, or while a coordinator moves, failed at once.
 */
export async function withCoordinatorRetries<T>(
  request: () => Promise<T>,
  options: CoordinatorRetryOptions = {},
): Promise<T> {
  const { attempts = 8, wait = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)) } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= attempts || !coordinatorNotReady(error)) throw error;
      await wait(coordinatorRetryDelay(attempt));
    }
  }
}

function coordinatorNotReady(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' && COORDINATOR_NOT_READY.has(type);
}
