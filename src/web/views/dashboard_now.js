/**
 * The dashboard's "Now" (`GET /admin/stats/now`): tasks queued and running, each channel's
 * state and load against its cap, and the Reelay processes seen in the last minute. Refreshed
 * every few seconds while shown.
 */
import { formatTime, h, table } from "../dom.js";

const REFRESH_MS = 5000;

const STATE = { healthy: "completed", failing: "pending", cooling_down: "failed" };

/** @param {any} c */
function channelRow(c) {
  const cap = c.max_concurrent > 0 ? c.max_concurrent : null;
  const load = cap === null ? `${c.in_flight}` : `${c.in_flight} / ${cap}`;
  return h(
    "tr",
    { "data-channel": c.id },
    h("td", { class: "mono" }, c.id),
    h("td", null, c.kind),
    h(
      "td",
      null,
      h(
        "span",
        {
          class: `badge badge-${STATE[/** @type {keyof typeof STATE} */ (c.state)] ?? "pending"}`,
          "data-state": c.state,
        },
        c.state.replace("_", " "),
      ),
      c.cooling_until
        ? h("span", { class: "muted small cooling-until" }, ` until ${formatTime(c.cooling_until)}`)
        : null,
    ),
    h(
      "td",
      { class: "load" },
      h("span", { class: "in-flight", "data-value": c.in_flight }, load),
      cap === null
        ? null
        : h("meter", { min: 0, max: cap, value: c.in_flight, "aria-label": `${c.id} load against its cap` }),
    ),
    h("td", { class: "small last-error" }, c.last_error ?? "—"),
  );
}

/**
 * @param {import("../app.js").ctx} ctx
 * @param {(fn: () => void) => void} onCleanup
 * @param {(e: unknown) => void} fail
 */
export function nowPanel(ctx, onCleanup, fail) {
  const tiles = h("div", { class: "tiles", id: "now-tiles" });
  const channels = h("tbody", { id: "now-channels" });
  const processes = h("ul", { class: "processes", id: "now-processes" });
  const asOf = h("p", { class: "muted small", id: "now-as-of" });
  const tile = (/** @type {string} */ id, /** @type {string} */ label, /** @type {number} */ v) =>
    h(
      "div",
      { class: "tile-stat", id },
      h("span", { class: "stat", "data-value": v }, v.toLocaleString("en-US")),
      h("span", { class: "muted small" }, label),
    );
  const load = async () => {
    try {
      const n = await ctx.api.admin.statsNow();
      tiles.replaceChildren(
        tile("now-queued", "queued", n.tasks.queued),
        tile("now-running", "running", n.tasks.running),
        tile("now-upstream", "in flight upstream", n.tasks.in_flight_upstream),
      );
      channels.replaceChildren(...n.channels.map(channelRow));
      processes.replaceChildren(
        ...(n.processes.length === 0
          ? [h("li", { class: "empty" }, "No process has reported in the last minute.")]
          : n.processes.map((/** @type {any} */ p) =>
              h(
                "li",
                { "data-process": p.id },
                h("strong", null, p.role),
                ` ${p.id} · seen ${formatTime(p.seen_at)}`,
              ),
            )),
      );
      asOf.textContent = `As of ${formatTime(n.at)}; over-time figures count tasks finished before ${n.rolled_until ? formatTime(n.rolled_until) : "the first roll-up"}.`;
    } catch (e) {
      fail(e);
    }
  };
  void load();
  const timer = setInterval(load, REFRESH_MS);
  onCleanup(() => clearInterval(timer));
  return h(
    "section",
    { class: "dash-panel", id: "dash-now" },
    tiles,
    h(
      "div",
      { class: "card" },
      h("h2", null, "Channels"),
      table(["Channel", "Kind", "State", "In flight / cap", "Last error"], channels),
    ),
    h("div", { class: "card" }, h("h2", null, "Processes seen in the last minute"), processes),
    asOf,
  );
}
