/** Finished tasks into buckets: the pure half of the roller (the store merges and writes them). */
import { addToHistogram, emptyHistogram, mergeHistogram } from "./histogram.js";
import type { FinishedTask, Rollup } from "./ports.js";
import { bucketStart, GRAIN_RETENTION_MS, GRAINS } from "./ranges.js";

/** The identity of a rollup row: its bucket and every dimension. */
export const rollupKey = (
  r: Omit<Rollup, "tasks" | "latencySumMs" | "latency" | "held" | "charged" | "refunded" | "providerCostUsd">,
): string => JSON.stringify([r.grain, r.bucket, r.channel, r.model, r.ownerId, r.status, r.failureClass]);

/** Adds `from` into `into` (same key). */
export function addRollup(into: Rollup, from: Rollup): void {
  into.tasks += from.tasks;
  into.latencySumMs += from.latencySumMs;
  mergeHistogram(into.latency, from.latency);
  into.held += from.held;
  into.charged += from.charged;
  into.refunded += from.refunded;
  into.providerCostUsd = Math.round((into.providerCostUsd + from.providerCostUsd) * 1e6) / 1e6;
}

/**
 * The rollups of `tasks` at every grain, one per bucket and combination of dimensions; at `now`,
 * none of a bucket already past its grain's retention (a backlog rolled late would write minutes
 * the next prune deletes).
 */
export function rollupsOf(tasks: readonly FinishedTask[], now: number): Map<string, Rollup> {
  const out = new Map<string, Rollup>();
  for (const t of tasks) {
    const latency = Math.max(0, t.finishedAt - t.createdAt);
    for (const grain of GRAINS) {
      if (t.finishedAt < now - GRAIN_RETENTION_MS[grain]) continue;
      const dims = {
        grain,
        bucket: bucketStart(grain, t.finishedAt),
        channel: t.channel,
        model: t.model,
        ownerId: t.ownerId,
        status: t.status,
        failureClass: t.failureClass,
      };
      const key = rollupKey(dims);
      let r = out.get(key);
      if (!r) {
        r = {
          ...dims,
          tasks: 0,
          latencySumMs: 0,
          latency: emptyHistogram(),
          held: 0,
          charged: 0,
          refunded: 0,
          providerCostUsd: 0,
        };
        out.set(key, r);
      }
      r.tasks += 1;
      r.latencySumMs += latency;
      addToHistogram(r.latency, latency);
      r.held += t.held;
      r.charged += t.charged;
      r.refunded += t.refunded;
      r.providerCostUsd = Math.round((r.providerCostUsd + t.providerCostUsd) * 1e6) / 1e6;
    }
  }
  return out;
}
