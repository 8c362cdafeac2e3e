/**
 * Small SVG charts drawn in the page (nothing from another host): stacked bars and lines over
 * the buckets of a range. Every point is a focusable, clickable mark that calls `onPoint` with
 * its bucket and series (the dashboard opens the drill-down from it); each carries its figure in
 * `data-value` and a `<title>` so it can be read without hovering.
 */

const NS = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...(Node | string)} children
 */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** The series colours, in order (CSS variables, so dark mode follows). */
export const PALETTE = ["var(--c1)", "var(--c2)", "var(--c3)", "var(--c4)", "var(--c5)", "var(--c6)"];

/** A round, readable top for the y axis. */
function niceMax(/** @type {number} */ v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * @typedef {{ name: string, values: number[], color?: string }} Series
 * @typedef {{
 *   id: string,
 *   title: string,
 *   buckets: number[],
 *   series: Series[],
 *   kind?: "bars" | "lines",
 *   label: (bucket: number) => string,
 *   format?: (v: number) => string,
 *   onPoint?: (bucketIndex: number, series: string) => void,
 * }} ChartSpec
 */

/** @param {ChartSpec} spec */
export function chart(spec) {
  const W = 720;
  const H = 220;
  const pad = { l: 44, r: 8, t: 10, b: 24 };
  const n = spec.buckets.length;
  const fmt = spec.format ?? ((/** @type {number} */ v) => v.toLocaleString("en-US"));
  const kind = spec.kind ?? "bars";
  const totals = spec.buckets.map((_, i) =>
    kind === "bars"
      ? spec.series.reduce((s, x) => s + (x.values[i] ?? 0), 0)
      : Math.max(0, ...spec.series.map((x) => x.values[i] ?? 0)),
  );
  const top = niceMax(Math.max(0, ...totals));
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const x = (/** @type {number} */ i) => pad.l + (iw * i) / Math.max(1, n);
  const y = (/** @type {number} */ v) => pad.t + ih - (ih * v) / top;
  const bw = iw / Math.max(1, n);
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart-svg",
    role: "group",
    "aria-label": spec.title,
  });
  for (const f of [0, 0.5, 1]) {
    root.append(
      svg("line", { x1: pad.l, x2: W - pad.r, y1: y(top * f), y2: y(top * f), class: "chart-grid" }),
      svg(
        "text",
        { x: pad.l - 6, y: y(top * f) + 4, class: "chart-axis", "text-anchor": "end" },
        fmt(top * f),
      ),
    );
  }
  const every = Math.max(1, Math.ceil(n / 6));
  spec.buckets.forEach((b, i) => {
    if (i % every === 0)
      root.append(
        svg(
          "text",
          { x: x(i) + bw / 2, y: H - 6, class: "chart-axis", "text-anchor": "middle" },
          spec.label(b),
        ),
      );
  });
  const mark = (
    /** @type {SVGElement} */ el,
    /** @type {number} */ i,
    /** @type {Series} */ s,
    /** @type {number} */ v,
  ) => {
    const text = `${s.name} · ${spec.label(spec.buckets[i] ?? 0)}: ${fmt(v)}`;
    el.setAttribute("class", "chart-point");
    el.setAttribute("data-series", s.name);
    el.setAttribute("data-bucket", String(spec.buckets[i]));
    el.setAttribute("data-value", String(v));
    el.setAttribute("tabindex", "0");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", text);
    el.append(svg("title", {}, text));
    if (spec.onPoint) {
      const go = () => spec.onPoint?.(i, s.name);
      el.addEventListener("click", go);
      el.addEventListener("keydown", (ev) => {
        const k = /** @type {KeyboardEvent} */ (ev).key;
        if (k === "Enter" || k === " ") {
          ev.preventDefault();
          go();
        }
      });
    }
    return el;
  };
  spec.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length] ?? "var(--c1)";
    if (kind === "lines") {
      const pts = s.values.map((v, i) => `${x(i) + bw / 2},${y(v)}`).join(" ");
      const line = svg("polyline", { points: pts, fill: "none", "stroke-width": 2 });
      line.style.setProperty("stroke", color);
      root.append(line);
    }
    s.values.forEach((v, i) => {
      if (kind === "lines") {
        const dot = svg("circle", { cx: x(i) + bw / 2, cy: y(v), r: 4 });
        dot.style.setProperty("fill", color);
        root.append(mark(dot, i, s, v));
        return;
      }
      if (v <= 0) return;
      const below = spec.series.slice(0, si).reduce((acc, t) => acc + (t.values[i] ?? 0), 0);
      const rect = svg("rect", {
        x: x(i) + Math.min(1, bw * 0.1),
        width: Math.max(1, bw - Math.min(2, bw * 0.2)),
        y: y(below + v),
        height: Math.max(1, y(below) - y(below + v)),
      });
      // Through the CSSOM: the page's CSP allows no inline style attributes.
      rect.style.setProperty("fill", color);
      root.append(mark(rect, i, s, v));
    });
  });
  const legend = spec.series.map((s, si) => {
    const item = Object.assign(document.createElement("span"), {
      className: "legend-item",
      textContent: s.name,
    });
    item.style.setProperty("--swatch", s.color ?? PALETTE[si % PALETTE.length] ?? "var(--c1)");
    return item;
  });
  const fig = document.createElement("figure");
  fig.className = "chart";
  fig.id = spec.id;
  const cap = document.createElement("figcaption");
  cap.append(Object.assign(document.createElement("strong"), { textContent: spec.title }), " ", ...legend);
  fig.append(cap, root);
  return fig;
}
