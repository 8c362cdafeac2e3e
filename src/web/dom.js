/** Small DOM helpers. Text always goes in as text nodes: prompts are user content, never HTML. */

/**
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function")
      el.addEventListener(k.slice(2), /** @type {any} */ (v));
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
  return el;
}

/** An inline alert in `box` (role=alert so screen readers announce it); empty message clears it. */
export function showError(/** @type {HTMLElement} */ box, /** @type {string} */ message) {
  box.textContent = message;
  box.hidden = !message;
}

/**
 * The unified API's `status` values, shown as the API says them (`GET /v1/video/query`), so what
 * the page shows is what a client, the CLI and webhooks see.
 */
export const STATUSES = ["pending", "processing", "completed", "failed", "cancelled"];

/** A coloured status pill with the API's word. */
export function statusBadge(/** @type {string} */ status) {
  return h("span", { class: `badge badge-${status}`, "data-status": status }, status);
}

export function formatTime(/** @type {number} */ ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A button that disables itself while `action` runs and shows failures in `errorBox`. */
export function actionButton(
  /** @type {string} */ label,
  /** @type {() => Promise<void>} */ action,
  /** @type {HTMLElement} */ errorBox,
  /** @type {string} */ cls = "btn",
) {
  const btn = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: cls }, label));
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    showError(errorBox, "");
    try {
      await action();
    } catch (e) {
      showError(errorBox, e instanceof Error ? e.message : String(e));
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

/** A table with a header row of `headings` over `body`. */
export function table(
  /** @type {readonly string[]} */ headings,
  /** @type {HTMLElement} */ body,
  /** @type {Record<string, unknown>} */ attrs = {},
) {
  return h(
    "table",
    { class: "table", ...attrs },
    h("thead", null, h("tr", null, ...headings.map((t) => h("th", null, t)))),
    body,
  );
}
