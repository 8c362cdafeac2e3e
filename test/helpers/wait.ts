/**
 * Bounded waiting for tests: poll until a condition holds, or fail naming what was awaited and
 * what was last seen. Bounded both in time and in number of tries, so a broken build fails
 * instead of hanging; nothing here asserts on how long anything took.
 */

export interface WaitOptions {
  /** What is awaited, for the failure message ("task X completed", "2 webhook deliveries"). */
  readonly what: string;
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Pause between tries (default 100 ms). */
  readonly intervalMs?: number;
  /** More to say on failure, e.g. a process's output. */
  readonly detail?: () => string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Calls `probe` until `done(value)` holds or the bound is reached, and returns the last value
 * either way: for waits whose outcome the test then asserts itself.
 */
export async function pollUntil<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  opts: WaitOptions,
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100 } = opts;
  const deadline = Date.now() + timeoutMs;
  const tries = Math.ceil(timeoutMs / intervalMs) + 1;
  let last = await probe();
  for (let i = 1; i < tries && !done(last) && Date.now() < deadline; i++) {
    await sleep(intervalMs);
    last = await probe();
  }
  return last;
}

/** Calls `probe` until `done(value)` holds and returns that value; throws once the bound is reached. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  opts: WaitOptions,
): Promise<T> {
  const last = await pollUntil(probe, done, opts);
  if (done(last)) return last;
  const seen = `; last seen: ${String(JSON.stringify(last)).slice(0, 500)}`;
  const more = opts.detail ? `\n${opts.detail()}` : "";
  throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${opts.what}${seen}${more}`);
}

/** Waits until `check` answers true. */
export async function waitUntil(check: () => boolean | Promise<boolean>, opts: WaitOptions): Promise<void> {
  await waitFor(check, (ok) => ok, opts);
}
