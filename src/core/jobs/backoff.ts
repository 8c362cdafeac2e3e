/**
 * The one retry policy of every job loop (render jobs, upstream polls and downloads, webhook
 * deliveries, watermark removal): exponential backoff with jitter and a cap, each loop giving its
 * numbers as data. Retry n waits about `baseMs × 2^(n−1)`, never more than `maxMs`, or the
 * schedule's n-th entry where the loop has one; the wait is drawn from the `jitter` band around
 * that, so that work failing together does not retry together; an upstream's Retry-After is a floor.
 */
export interface BackoffPolicy {
  /** The wait before the first retry. */
  readonly baseMs: number;
  /** No wait (before jitter) is longer. */
  readonly maxMs: number;
  /** Doublings at most (the wait stops growing past them even under a large cap). */
  readonly maxDoublings?: number;
  /** Waits given outright: retry n waits `schedule[n − 1]` (as configured by the operator). */
  readonly schedule?: readonly number[];
  /** The wait is drawn from [low, high] × the nominal one. */
  readonly jitter: readonly [low: number, high: number];
}

/** Jitter that only shortens: between half and all of the nominal wait. */
export const SHORTENING_JITTER = [0.5, 1] as const;

/** The nominal wait before retry `retry` (1 for the first), before jitter. */
export function nominalDelayMs(policy: BackoffPolicy, retry: number): number {
  const scheduled = policy.schedule?.[retry - 1];
  if (scheduled !== undefined) return scheduled;
  const doublings = Math.min(policy.maxDoublings ?? Number.POSITIVE_INFINITY, Math.max(0, retry - 1));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** doublings);
}

/** The wait before retry `retry`, in whole milliseconds (times are stored as integers). */
export function delayMs(
  policy: BackoffPolicy,
  retry: number,
  opts: { retryAfterS?: number | null; random?: () => number } = {},
): number {
  const [low, high] = policy.jitter;
  const jittered = nominalDelayMs(policy, retry) * (low + (high - low) * (opts.random ?? Math.random)());
  const floor = (opts.retryAfterS ?? 0) * 1000;
  return Math.round(Math.max(jittered, floor));
}

/** The render jobs' policy (and the watermark remover's): attempt n of `baseMs`/`maxMs`. */
export function backoffMs(
  attempt: number,
  opts: { baseMs: number; maxMs: number; retryAfterS?: number | null; random?: () => number },
): number {
  return delayMs({ baseMs: opts.baseMs, maxMs: opts.maxMs, jitter: SHORTENING_JITTER }, attempt, opts);
}
