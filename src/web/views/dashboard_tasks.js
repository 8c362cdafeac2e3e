/**
 * The dashboard's drill-down (`GET /admin/stats/tasks`): the finished tasks behind a chart point,
 * filtered by its bucket and series; each opens the admin task detail (`#/admin-task/<id>`).
 */
import { formatTime, h, statusBadge, table } from "../dom.js";
import { duration } from "./dashboard_over_time.js";

export const FILTERS = ["from", "to", "channel", "model", "status", "class", "owner"];

/**
 * @param {import("../app.js").ctx} ctx
 * @param {URLSearchParams} params
 * @param {(e: unknown) => void} fail
 */
export function tasksPanel(ctx, params, fail) {
  const now = Date.now();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ""]));
  if (!filters.from) filters.from = String(now - 86_400_000);
  if (!filters.to) filters.to = String(now + 60_000);
  const rows = h("tbody", { id: "drill-rows" });
  const more = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "btn", id: "drill-more", hidden: true }, "More")
  );
  const summary = h("p", { class: "muted small", id: "drill-summary" });
  let cursor = "";
  let shown = 0;
  const load = async () => {
    try {
      const page = await ctx.api.admin.statsTasks({ ...filters, cursor: cursor || undefined, limit: 50 });
      if (shown === 0 && page.data.length === 0)
        rows.replaceChildren(
          h("tr", null, h("td", { colspan: 8, class: "empty" }, "No finished task matches.")),
        );
      for (const t of page.data) {
        rows.append(
          h(
            "tr",
            { "data-id": t.id },
            h(
              "td",
              null,
              h("a", { href: `#/admin-task/${encodeURIComponent(t.id)}`, class: "mono small" }, t.id),
            ),
            h("td", null, statusBadge(t.status)),
            h("td", { class: "mono small" }, t.channel ?? "none"),
            h("td", { class: "mono small" }, t.model),
            h("td", { class: "mono small" }, t.owner_id),
            h("td", { class: "small" }, t.failure_class ?? "—"),
            h("td", { class: "num" }, duration(t.latency_ms)),
            h("td", { class: "small" }, formatTime(t.finished_at)),
          ),
        );
      }
      shown += page.data.length;
      summary.textContent = `${shown} task${shown === 1 ? "" : "s"} shown${page.next_cursor ? ", more to load" : ""}.`;
      cursor = page.next_cursor ?? "";
      more.hidden = !page.next_cursor;
    } catch (e) {
      fail(e);
    }
  };
  more.addEventListener("click", () => void load());
  void load();
  const described = FILTERS.filter((f) => f !== "from" && f !== "to" && filters[f])
    .map((f) => `${f} ${filters[f]}`)
    .join(" · ");
  return h(
    "section",
    { class: "dash-panel", id: "dash-tasks" },
    h(
      "p",
      { class: "muted", id: "drill-filter" },
      `Finished ${formatTime(Number(filters.from))} – ${formatTime(Number(filters.to))}`,
      described ? ` · ${described}` : "",
    ),
    h(
      "div",
      { class: "card" },
      table(["Task", "Status", "Channel", "Model", "Owner", "Failure class", "Took", "Finished"], rows),
      more,
    ),
    summary,
  );
}
