/** My videos: the caller's tasks, newest first, filtered by status, a page at a time. */
import { ApiError } from "../api.js";
import { actionButton, formatTime, h, STATUSES, showError, statusBadge } from "../dom.js";
import { remixForm } from "./task.js";

const PAGE = 12;

/**
 * @param {import("../app.js").ctx} ctx
 * @param {(fn: () => void) => void} onCleanup
 */
export function tasksView(ctx, onCleanup) {
  const err = h("p", { class: "alert", role: "alert", hidden: true });
  const list = h("ul", { class: "task-list", id: "task-list" });
  const more = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "btn btn-wide", hidden: true }, "Load more")
  );
  const filter = /** @type {HTMLSelectElement} */ (
    h(
      "select",
      { id: "status-filter", "aria-label": "Filter by status" },
      h("option", { value: "" }, "All statuses"),
      ...STATUSES.map((v) => h("option", { value: v }, v)),
    )
  );
  /** @type {string | undefined} */
  let after;
  let alive = true;
  onCleanup(() => {
    alive = false;
  });

  const row = (/** @type {any} */ t) => {
    const input = t.detail.input;
    const rowErr = h("p", { class: "field-error", role: "alert", hidden: true });
    const open = `#/task/${encodeURIComponent(t.id)}`;
    const li = h(
      "li",
      { class: "task-row", "data-id": t.id },
      h(
        "a",
        { class: "thumb", href: open, "aria-label": "Open" },
        t.thumbnail_url
          ? h("img", { src: t.thumbnail_url, alt: "", loading: "lazy" })
          : h("span", { class: "thumb-empty" }, "▶"),
      ),
      h(
        "div",
        { class: "task-row-main" },
        h("a", { href: open, class: "task-prompt" }, input.prompt),
        h(
          "p",
          { class: "muted small" },
          statusBadge(t.status),
          ` ${input.model} · ${input.orientation} · ${input.duration} s · ${formatTime(t.detail.created_at)}`,
          input.private ? " · private" : "",
        ),
        rowErr,
      ),
    );
    const actions = h("div", { class: "row-actions" });
    if (t.status === "pending" || t.status === "processing")
      actions.append(
        actionButton(
          "Cancel",
          async () => {
            li.replaceWith(row(await ctx.api.cancel(t.id)));
          },
          rowErr,
          "btn btn-small btn-danger",
        ),
      );
    if (t.status === "completed" && !input.private)
      actions.append(
        h(
          "button",
          { type: "button", class: "btn btn-small", onclick: () => li.append(remixForm(ctx, t.id)) },
          "Remix",
        ),
      );
    li.append(actions);
    return li;
  };

  const load = async (/** @type {boolean} */ reset) => {
    showError(err, "");
    more.disabled = true;
    try {
      const page = await ctx.api.list({
        status: filter.value,
        after: reset ? undefined : after,
        limit: PAGE,
      });
      if (!alive) return;
      if (reset) list.replaceChildren();
      list.append(...page.data.map(row));
      if (reset && page.data.length === 0)
        list.append(
          h(
            "li",
            { class: "empty" },
            filter.value ? "No videos with this status." : "No videos yet. ",
            filter.value ? null : h("a", { href: "#/create" }, "Make your first one →"),
          ),
        );
      after = page.last_id ?? after;
      more.hidden = !page.has_more;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      showError(err, e instanceof Error ? e.message : String(e));
    } finally {
      more.disabled = false;
    }
  };
  filter.addEventListener("change", () => load(true));
  more.addEventListener("click", () => load(false));
  load(true);

  return h(
    "section",
    { class: "wide" },
    h("div", { class: "page-head" }, h("h1", null, "My videos"), filter),
    err,
    list,
    more,
  );
}
