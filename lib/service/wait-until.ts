/**
 * Resolves true once `condition` holds, or false after `timeoutMs`: a shutdown drain polls the
 * work still running with it, every 20 ms, since settles do not announce themselves.
 */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
