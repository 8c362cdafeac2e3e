/**
 * Any task for the admin (`GET /admin/tasks/{id}` and its ledger): owner, channel, upstream id,
 * timings, cost, attempts and events. Where the dashboard's drill-down leads.
 */
import { ApiError } from "../api.js";
import { formatTime, h, showError, statusBadge } from "../dom.js";
import { attemptsList } from "./attempts.js";
import { duration } from "./dashboard_over_time.js";
import { costText } from "./task.js";

/**
 * @param {import("../app.js").ctx} ctx
 * @param {string} id
 */
export function adminTaskView(ctx, id) {
  // Back to the list it came from (with its filters), when there is one.
  const back = (/** @type {Event} */ ev) => {
    if (history.length > 1) {
      ev.preventDefault();
      history.back();
    }
  };
  const err = h("p", { class: "alert", role: "alert", hidden: true });
  const body = h("div", { class: "task-body" }, h("p", { class: "muted" }, "Loading…"));
  Promise.all([ctx.api.admin.task(id), ctx.api.admin.ledger(id)]).then(
    ([t, ledger]) => body.replaceChildren(...render(t, ledger)),
    (/** @type {unknown} */ e) => {
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      showError(err, e instanceof Error ? e.message : String(e));
    },
  );
  return h(
    "section",
    { class: "narrow" },
    h("p", null, h("a", { href: "#/dashboard/tasks", onclick: back }, "← Back to the drill-down")),
    h("article", { class: "card task", id: "admin-task", "data-id": id }, body, err),
  );
}

/**
 * @param {any} t
 * @param {any} ledger
 */
function render(t, ledger) {
  const input = t.detail.input;
  const finished = ["completed", "failed", "cancelled"].includes(t.status);
  const row = (/** @type {string} */ label, /** @type {string | Node} */ value, /** @type {string} */ id) => [
    h("dt", null, label),
    h("dd", { id }, value),
  ];
  return [
    h(
      "header",
      { class: "task-head" },
      h("div", null, h("h1", null, "Task"), h("p", { class: "muted mono small" }, t.id)),
      statusBadge(t.status),
    ),
    t.status === "failed" && t.error
      ? h("p", { class: "alert" }, `${t.error.message} (${t.error.code})`)
      : null,
    h(
      "dl",
      { class: "meta" },
      ...row("Owner", t.owner_id, "at-owner"),
      ...row("Model", input.model, "at-model"),
      ...row("Prompt", input.prompt, "at-prompt"),
      ...row("Channel", t.channel ?? "none", "at-channel"),
      ...row("Upstream id", t.upstream_id ?? "—", "at-upstream"),
      ...row("Created", formatTime(t.detail.created_at), "at-created"),
      ...row(finished ? "Finished" : "Updated", formatTime(t.status_update_time), "at-finished"),
      ...(finished ? row("Took", duration(t.status_update_time - t.detail.created_at), "at-took") : []),
      ...(t.cost ? row("Cost", costText(t.cost), "at-cost") : []),
    ),
    attemptsList(t.attempts),
    h(
      "section",
      { id: "at-ledger" },
      h("h2", null, "Money"),
      ledger.data.length === 0
        ? h("p", { class: "muted" }, "No credits moved for this task.")
        : h(
            "ol",
            { class: "event-list" },
            ...ledger.data.map((/** @type {any} */ e) =>
              h(
                "li",
                { "data-kind": e.kind },
                h("strong", null, e.kind),
                ` ${e.amount} credits · ${formatTime(e.created_at)}`,
              ),
            ),
          ),
    ),
    h(
      "section",
      { id: "at-events" },
      h("h2", null, "Events"),
      h(
        "ol",
        { class: "event-list" },
        ...t.events.map((/** @type {any} */ e) =>
          h(
            "li",
            { "data-type": e.type },
            h("span", { class: "mono small" }, `#${e.seq} `),
            h("strong", null, e.type),
            ` · ${e.status} ${e.progress}% · ${formatTime(e.at)}`,
          ),
        ),
      ),
    ),
  ].filter((x) => x !== null);
}
