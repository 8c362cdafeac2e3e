/**
 * Normalising upstream statuses. Relays spell the same states many ways (`success`, `succeeded`,
 * `done`; `NOT_START`, `queued`); a status nobody listed, or none at all, means "still running"
 * (reported as unknown, so it is logged and counted), never "failed".
 */
import type { UpstreamState } from "../../../core/upstream/ports.js";

const WORDS: Record<string, UpstreamState> = {};
const add = (state: UpstreamState, words: string[]) => {
  for (const w of words) WORDS[w] = state;
};
add("queued", [
  "pending",
  "queued",
  "queue",
  "queueing",
  "in_queue",
  "submitted",
  "not_start",
  "not_started",
  "waiting",
  "created",
  "accepted",
  "scheduled",
]);
add("running", [
  "processing",
  "running",
  "in_progress",
  "inprogress",
  "generating",
  "started",
  "progress",
  "rendering",
]);
add("completed", [
  "completed",
  "complete",
  "success",
  "succeeded",
  "successful",
  "done",
  "finished",
  "ready",
]);
add("failed", [
  "failed",
  "failure",
  "fail",
  "error",
  "errored",
  "rejected",
  "cancelled",
  "canceled",
  "aborted",
  "moderated",
  "blocked",
]);
add("expired", ["expired", "timeout", "timed_out", "deleted", "purged"]);

export function normaliseStatus(raw: unknown): { state: UpstreamState; raw: string | null; known: boolean } {
  if (typeof raw !== "string" || raw.trim() === "") return { state: "running", raw: null, known: false };
  const key = raw
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
  const state = WORDS[key];
  return state ? { state, raw, known: true } : { state: "running", raw, known: false };
}

/** A progress figure as 0–100, from a percentage or a fraction (`0.93`); null when there is none. */
export function normaliseProgress(pct: unknown, fraction: unknown): number | null {
  const n = (v: unknown) =>
    typeof v === "number"
      ? v
      : typeof v === "string" && v.trim() !== ""
        ? Number(v.replace("%", ""))
        : Number.NaN;
  const p = n(pct);
  if (Number.isFinite(p)) return Math.max(0, Math.min(100, p));
  const f = n(fraction);
  if (Number.isFinite(f)) return Math.max(0, Math.min(100, f <= 1 ? f * 100 : f));
  return null;
}

export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
export const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
export const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);
