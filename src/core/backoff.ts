/**
 * Exponential backoff with jitter: attempt 1 waits about `baseMs`, each next one twice as long,
 * never more than `maxMs`; the wait is drawn from [50 %, 100 %] of that so that tasks failing
 * together do not retry together. An upstream's Retry-After is a floor.
 */
export function backoffMs(
  attempt: number,
  opts: { baseMs: number; maxMs: number; retryAfterS?: number | null; random?: () => number },
): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp * (0.5 + 0.5 * (opts.random ?? Math.random)());
  const floor = (opts.retryAfterS ?? 0) * 1000;
  return Math.round(Math.max(jittered, floor));
}
