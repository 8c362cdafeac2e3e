/**
 * The operator's dashboard (admin token): "Now", "Over time" and the drill-down, each a tab with
 * its own address (`#/dashboard/now`, `#/dashboard/over-time?range=day`, `#/dashboard/tasks?…`).
 */
import { ApiError } from "../api.js";
import { h, showError } from "../dom.js";
import { nowPanel } from "./dashboard_now.js";
import { overTimePanel } from "./dashboard_over_time.js";
import { tasksPanel } from "./dashboard_tasks.js";

const TABS = [
  ["now", "Now"],
  ["over-time", "Over time"],
  ["tasks", "Drill-down"],
];

/**
 * @param {import("../app.js").ctx} ctx
 * @param {string} path what follows `#/dashboard/`: the tab, then its query
 * @param {(fn: () => void) => void} onCleanup
 */
export function dashboardView(ctx, path, onCleanup) {
  const [tab = "now", query = ""] = path.split("?");
  const params = new URLSearchParams(query);
  const err = h("p", { class: "alert", role: "alert", hidden: true });
  const fail = (/** @type {unknown} */ e) => {
    if (e instanceof ApiError && e.status === 401) return ctx.expired();
    showError(err, e instanceof Error ? e.message : String(e));
  };
  const current = TABS.some(([t]) => t === tab) ? tab : "now";
  const panel =
    current === "over-time"
      ? overTimePanel(ctx, params.get("range") ?? "day", fail)
      : current === "tasks"
        ? tasksPanel(ctx, params, fail)
        : nowPanel(ctx, onCleanup, fail);
  return h(
    "section",
    { class: "wide dashboard", id: "dashboard", "data-tab": current },
    h(
      "header",
      { class: "page-head" },
      h("h1", null, "Dashboard"),
      h(
        "nav",
        { class: "tabs", "aria-label": "Dashboard views" },
        ...TABS.map(([t, label]) =>
          h(
            "a",
            {
              href: `#/dashboard/${t}`,
              class: "tab",
              "aria-current": t === current ? "page" : false,
              "data-tab": t,
            },
            label,
          ),
        ),
      ),
    ),
    err,
    panel,
  );
}
