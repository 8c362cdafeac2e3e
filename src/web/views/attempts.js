/**
 * A task's attempts (`attempts[]` of the unified query): each upstream channel that accepted it,
 * how that attempt ended and why, and what it cost. Shown once there is more than nothing to say:
 * a task rendered here, or not yet sent, has none.
 */
import { h } from "../dom.js";

/** Attempt outcomes, in the colours of the task statuses they resemble. */
const BADGE = { running: "processing", completed: "completed", failed: "failed", cancelled: "cancelled" };

/** @param {any[] | undefined} attempts */
export function attemptsList(attempts) {
  if (!attempts || attempts.length === 0) return null;
  const rows = attempts.map((/** @type {any} */ a) =>
    h(
      "li",
      { "data-number": a.number, "data-outcome": a.outcome, class: "attempt" },
      h("span", { class: "mono small" }, `#${a.number}`),
      " ",
      h("strong", { class: "attempt-channel" }, a.channel),
      " ",
      h(
        "span",
        { class: `badge badge-${BADGE[/** @type {keyof typeof BADGE} */ (a.outcome)] ?? "pending"}` },
        a.outcome,
      ),
      a.error
        ? h(
            "span",
            { class: "attempt-error muted small" },
            ` ${a.error.class}${a.error.code ? ` · ${a.error.code}` : ""}: ${a.error.message}`,
          )
        : null,
      h("span", { class: "attempt-credits muted small" }, ` · ${a.credits} credits`),
    ),
  );
  return h(
    "section",
    { class: "attempts", id: "attempts" },
    h("h2", null, "Attempts"),
    h("ol", { class: "attempt-list" }, ...rows),
  );
}
