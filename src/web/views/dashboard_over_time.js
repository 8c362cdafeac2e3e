/**
 * The dashboard's "Over time" (`GET /admin/stats/over-time`): the last hour (per minute), day
 * (per hour) or 30 days (per day). Every chart point and table row opens the drill-down of the
 * tasks behind it.
 */
import { h, table } from "../dom.js";
import { chart } from "./chart.js";

const STATUS_COLORS = { completed: "var(--ok)", failed: "var(--danger)", cancelled: "var(--muted)" };

/** @param {number | null} ms */
export function duration(ms) {
  if (ms === null) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const pct = (/** @type {number | null} */ r) => (r === null ? "—" : `${(r * 100).toFixed(1)}%`);
const usd = (/** @type {number} */ v) => `US$${v.toFixed(2)}`;

/** @param {string} grain */
function labeller(grain) {
  return (/** @type {number} */ b) => {
    const d = new Date(b);
    if (grain === "day") return d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
    return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  };
}

/**
 * @param {import("../app.js").ctx} ctx
 * @param {string} range
 * @param {(e: unknown) => void} fail
 */
export function overTimePanel(ctx, range, fail) {
  const body = h("div", { class: "dash-body" }, h("p", { class: "muted" }, "Loading…"));
  const picker = h(
    "div",
    { class: "range-picker", role: "group", "aria-label": "Range" },
    ...[
      ["hour", "Last hour"],
      ["day", "Last day"],
      ["30d", "Last 30 days"],
    ].map(([r, label]) =>
      h(
        "a",
        {
          href: `#/dashboard/over-time?range=${r}`,
          class: "btn btn-small",
          "aria-current": r === range ? "true" : false,
          "data-range": r,
        },
        label,
      ),
    ),
  );
  ctx.api.admin
    .statsOverTime(range)
    .then((/** @type {any} */ o) => body.replaceChildren(...render(ctx, o)), fail);
  return h("section", { class: "dash-panel", id: "dash-over-time", "data-range": range }, picker, body);
}

/**
 * @param {import("../app.js").ctx} ctx
 * @param {any} o the over-time answer
 */
function render(ctx, o) {
  const label = labeller(o.grain);
  const drill = (/** @type {Record<string, string | number>} */ params) => {
    const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    ctx.go(`#/dashboard/tasks?${q}`);
  };
  const bucket = (/** @type {number} */ i) => ({ from: o.buckets[i], to: o.buckets[i] + o.bucket_ms });
  const whole = { from: o.buckets[0], to: o.buckets[o.buckets.length - 1] + o.bucket_ms };
  const statusChart = chart({
    id: "chart-status",
    title: "Tasks by final status",
    buckets: o.buckets,
    label,
    series: ["completed", "failed", "cancelled"].map((s) => ({
      name: s,
      values: o.by_status[s],
      color: STATUS_COLORS[/** @type {keyof typeof STATUS_COLORS} */ (s)],
    })),
    onPoint: (i, s) => drill({ ...bucket(i), status: s }),
  });
  const classChart = chart({
    id: "chart-classes",
    title: "Failures by class",
    buckets: o.buckets,
    label,
    series: o.failure_classes.map((/** @type {any} */ f) => ({ name: f.name, values: f.series })),
    onPoint: (i, s) => drill({ ...bucket(i), status: "failed", class: s }),
  });
  const eventsChart = chart({
    id: "chart-events",
    title: "Upstream polls and provider callbacks per minute",
    kind: "lines",
    buckets: o.buckets,
    label,
    format: (v) => (Math.round(v * 100) / 100).toLocaleString("en-US"),
    series: [
      { name: "polls", values: o.events.polls_per_minute },
      { name: "callbacks", values: o.events.callbacks_per_minute },
    ],
    onPoint: (i) => drill(bucket(i)),
  });
  const creditsChart = chart({
    id: "chart-credits",
    title: "Credits charged and refunded",
    buckets: o.buckets,
    label,
    series: [
      { name: "charged", values: o.credits.series.charged, color: "var(--c1)" },
      { name: "refunded", values: o.credits.series.refunded, color: "var(--c3)" },
    ],
    // Money moved with the tasks that finished in the bucket: the drill-down lists them all.
    onPoint: (i) => drill(bucket(i)),
  });
  const breakdownTable = (/** @type {string} */ id, /** @type {string} */ dim, /** @type {any[]} */ rows) =>
    table(
      [dim, "Tasks", "Success", "p50", "p95", "Failure classes"],
      h(
        "tbody",
        null,
        ...(rows.length === 0
          ? [h("tr", null, h("td", { colspan: 6, class: "empty" }, "No finished tasks in this range."))]
          : rows.map((r) => {
              const key = dim === "Channel" ? "channel" : "model";
              const value = r.name ?? "none";
              return h(
                "tr",
                {
                  "data-name": value,
                  class: "clickable",
                  tabindex: 0,
                  onclick: () => drill({ ...whole, [key]: value }),
                },
                h("td", { class: "mono" }, value),
                h("td", { class: "num", "data-col": "tasks" }, r.tasks),
                h("td", { class: "num", "data-col": "success" }, pct(r.success_rate)),
                h("td", { class: "num", "data-col": "p50", "data-ms": r.p50_ms ?? "" }, duration(r.p50_ms)),
                h("td", { class: "num", "data-col": "p95", "data-ms": r.p95_ms ?? "" }, duration(r.p95_ms)),
                h(
                  "td",
                  { class: "small", "data-col": "classes" },
                  Object.entries(r.failure_classes)
                    .map(([c, n]) => `${c} ${n}`)
                    .join(", ") || "—",
                ),
              );
            })),
      ),
      { id },
    );
  const moneyTable = (/** @type {string} */ id, /** @type {string} */ dim, /** @type {any[]} */ rows) =>
    table(
      [dim, "Held", "Charged", "Refunded", "Provider cost"],
      h(
        "tbody",
        null,
        ...rows.map((m) =>
          h(
            "tr",
            {
              "data-name": m.name,
              class: "clickable",
              tabindex: 0,
              onclick: () => drill({ ...whole, [dim === "Owner" ? "owner" : "model"]: m.name }),
            },
            h("td", { class: "mono" }, m.name),
            h("td", { class: "num", "data-col": "held" }, m.held),
            h("td", { class: "num", "data-col": "charged" }, m.charged),
            h("td", { class: "num", "data-col": "refunded" }, m.refunded),
            h("td", { class: "num", "data-col": "provider" }, usd(m.provider_cost_usd)),
          ),
        ),
      ),
      { id },
    );
  const t = o.totals;
  const c = o.credits.totals;
  return [
    h(
      "div",
      { class: "tiles", id: "over-time-totals" },
      ...[
        ["total-completed", "completed", t.completed],
        ["total-failed", "failed", t.failed],
        ["total-cancelled", "cancelled", t.cancelled],
        ["total-charged", "credits charged", c.charged],
        ["total-refunded", "credits refunded", c.refunded],
      ].map(([id, l, v]) =>
        h(
          "div",
          { class: "tile-stat", id },
          h("span", { class: "stat", "data-value": v }, Number(v).toLocaleString("en-US")),
          h("span", { class: "muted small" }, l),
        ),
      ),
      h(
        "div",
        { class: "tile-stat", id: "total-latency" },
        h(
          "span",
          { class: "stat", "data-p50": o.p50_ms ?? "", "data-p95": o.p95_ms ?? "" },
          `${duration(o.p50_ms)} / ${duration(o.p95_ms)}`,
        ),
        h("span", { class: "muted small" }, "p50 / p95 create → completed"),
      ),
      h(
        "div",
        { class: "tile-stat", id: "total-provider-cost" },
        h("span", { class: "stat", "data-value": c.provider_cost_usd }, usd(c.provider_cost_usd)),
        h("span", { class: "muted small" }, "provider's own cost"),
      ),
    ),
    h("div", { class: "card" }, statusChart),
    h(
      "div",
      { class: "card" },
      h("h2", null, "Per channel"),
      breakdownTable("by-channel", "Channel", o.channels),
    ),
    h("div", { class: "card" }, h("h2", null, "Per model"), breakdownTable("by-model", "Model", o.models)),
    h("div", { class: "card" }, classChart),
    h("div", { class: "card" }, eventsChart),
    h(
      "div",
      { class: "card" },
      creditsChart,
      h("h2", null, "Per owner"),
      moneyTable("money-owners", "Owner", o.credits.owners),
      h("h2", null, "Per model"),
      moneyTable("money-models", "Model", o.credits.models),
    ),
  ];
}
