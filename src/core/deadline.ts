/**
 * Signals for bounded calls: each aborts when its outer signal does (with that reason) or after
 * `ms` (with a `TimeoutError`, as `AbortSignal.timeout` would), and `release()` undoes both once
 * the call is over. What they replace, `AbortSignal.any([outer, AbortSignal.timeout(ms)])`, keeps
 * a timer and weak references alive for the whole `ms` after the call ended: at 2,000 polls a
 * second that was 60,000 live timers, and garbage collection took a quarter of the poller's time
 * (bench/inflight.ts, CPU profile of the Reelay process).
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** The call is over: its timer is cleared and its outer signal no longer holds it. */
  release(): void;
}

const timeoutError = () => new DOMException("The operation was aborted due to timeout", "TimeoutError");

function timed(controller: AbortController, ms: number, done: () => void): Deadline {
  const timer = setTimeout(() => controller.abort(timeoutError()), ms);
  // Like AbortSignal.timeout: a pending call's timer alone does not keep the process alive.
  timer.unref();
  return {
    signal: controller.signal,
    release() {
      clearTimeout(timer);
      done();
    },
  };
}

/** One bounded call under `outer` (a listener on `outer` for the call's life). */
export function deadline(outer: AbortSignal, ms: number): Deadline {
  const controller = new AbortController();
  if (outer.aborted) {
    controller.abort(outer.reason);
    return { signal: controller.signal, release: () => {} };
  }
  const onAbort = () => controller.abort(outer.reason);
  outer.addEventListener("abort", onAbort, { once: true });
  return timed(controller, ms, () => outer.removeEventListener("abort", onAbort));
}

/**
 * Many concurrent bounded calls under one long-lived `outer` (a poller's stop): one listener on
 * `outer` for all of them, not one each.
 */
export function deadlines(outer: AbortSignal): (ms: number) => Deadline {
  const live = new Set<AbortController>();
  outer.addEventListener(
    "abort",
    () => {
      for (const c of live) c.abort(outer.reason);
      live.clear();
    },
    { once: true },
  );
  return (ms) => {
    const controller = new AbortController();
    if (outer.aborted) {
      controller.abort(outer.reason);
      return { signal: controller.signal, release: () => {} };
    }
    live.add(controller);
    return timed(controller, ms, () => live.delete(controller));
  };
}
