/**
 * One task: live progress (from the task's event stream, `GET /v1/video/events`, until the task
 * ends), then a player and download buttons; cancel while it runs, remix once it is done.
 */
import { ApiError } from "../api.js";
import { actionButton, formatTime, h, showError, statusBadge } from "../dom.js";
import { attemptsList } from "./attempts.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * A task's money in words: what it holds while it runs, then what it cost and what came back.
 * @param {{ held: number, charged: number | null, refunded: number, rule: string, seconds: number,
 *   billed_seconds?: number, basis?: string, provider_cost_usd?: number }} c
 */
export function costText(c) {
  const rule =
    { per_task: "per video", per_second: "per second", catalogue: "catalogue rate" }[c.rule] ?? c.rule;
  if (c.charged === null) return `${c.held} credits held (${rule}, ${c.seconds} s)`;
  const billed =
    c.billed_seconds === undefined
      ? ""
      : ` for ${c.billed_seconds} s${c.basis === "provider_seconds" ? " (as the provider billed)" : ""}`;
  const back = c.refunded > 0 ? `, ${c.refunded} refunded` : "";
  const provider = c.provider_cost_usd === undefined ? "" : ` · provider cost US$${c.provider_cost_usd}`;
  return `${c.charged} credits charged${billed} of ${c.held} held${back}${provider}`;
}

/** The provider's own usage figures, in words. */
const usageText = (/** @type {{ tokens?: number, seconds?: number }} */ u) =>
  [u.tokens === undefined ? null : `${u.tokens} tokens`, u.seconds === undefined ? null : `${u.seconds} s`]
    .filter(Boolean)
    .join(" · ");

/** The remix form: a new prompt over a finished video. Shared with the lists. */
export function remixForm(/** @type {import("../app.js").ctx} */ ctx, /** @type {string} */ id) {
  const err = h("p", { class: "field-error", role: "alert", hidden: true });
  const input = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "text",
      name: "remix-prompt",
      placeholder: "What should change?",
      "aria-label": "Remix prompt",
      required: true,
    })
  );
  const form = h(
    "form",
    { class: "remix-form" },
    input,
    h("button", { type: "submit", class: "btn btn-primary" }, "Remix"),
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(err, "");
    try {
      const created = await ctx.api.remix(id, input.value);
      ctx.go(`#/task/${encodeURIComponent(created.id)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      showError(err, e instanceof Error ? e.message : String(e));
    }
  });
  return form;
}

/**
 * @param {import("../app.js").ctx} ctx
 * @param {string} id
 * @param {(fn: () => void) => void} onCleanup
 */
export function taskView(ctx, id, onCleanup) {
  const err = h("p", { class: "alert", role: "alert", hidden: true });
  const body = h("div", { class: "task-body" }, h("p", { class: "muted" }, "Loading…"));
  const card = h("article", { class: "card task", id: "task", "data-id": id }, body, err);
  const leaving = new AbortController();
  onCleanup(() => leaving.abort());
  /** @type {string | null} */
  let shownResult = null;

  const render = (/** @type {any} */ t) => {
    const input = t.detail.input;
    const done = t.status === "completed";
    const head = h(
      "header",
      { class: "task-head" },
      h("div", null, h("h1", null, "Your video"), h("p", { class: "muted mono small" }, t.id)),
      statusBadge(t.status),
    );
    const meta = h(
      "dl",
      { class: "meta" },
      h("dt", null, "Prompt"),
      h("dd", null, input.prompt),
      h("dt", null, "Model"),
      h("dd", null, input.model),
      h("dt", null, "Shape"),
      h("dd", null, `${input.orientation} · ${input.size} · ${input.duration} s`),
      h("dt", null, "Created"),
      h("dd", null, formatTime(t.detail.created_at)),
      t.cost ? h("dt", null, "Cost") : null,
      t.cost ? h("dd", { id: "task-cost" }, costText(t.cost)) : null,
      t.usage ? h("dt", null, "Provider usage") : null,
      t.usage ? h("dd", { id: "task-usage" }, usageText(t.usage)) : null,
      t.remixed_from ? h("dt", null, "Remix of") : null,
      t.remixed_from
        ? h("dd", null, h("a", { href: `#/task/${encodeURIComponent(t.remixed_from)}` }, t.remixed_from))
        : null,
    );
    const progress = TERMINAL.has(t.status)
      ? null
      : h(
          "div",
          { class: "progress-wrap" },
          h("progress", { id: "progress", max: 100, value: t.progress, "aria-label": "Progress" }),
          h("span", { class: "progress-text", id: "progress-text" }, `${t.progress}%`),
          t.detail.pending_info.failure_reason
            ? h("p", { class: "hint" }, `Retrying: ${t.detail.pending_info.failure_reason}`)
            : null,
        );
    const failure =
      t.status === "failed" && t.error
        ? h("p", { class: "alert", role: "alert" }, `${t.error.message} (${t.error.code})`)
        : null;
    const actionErr = h("p", { class: "field-error", role: "alert", hidden: true });
    const actions = h("div", { class: "actions" });
    if (!TERMINAL.has(t.status))
      actions.append(
        actionButton(
          "Cancel",
          async () => {
            render(await ctx.api.cancel(t.id));
          },
          actionErr,
          "btn btn-danger",
        ),
      );
    let player = null;
    if (done) {
      player = h("video", {
        id: "player",
        class: "player",
        src: t.video_url,
        poster: t.thumbnail_url,
        controls: true,
        playsinline: true,
        preload: "metadata",
      });
      actions.append(
        h(
          "a",
          {
            class: "btn btn-primary",
            href: t.video_url,
            download: `${t.id.replace(/[^A-Za-z0-9_-]/g, "_")}.mp4`,
          },
          "Download video",
        ),
        h(
          "a",
          { class: "btn", href: t.thumbnail_url, download: `${t.id.replace(/[^A-Za-z0-9_-]/g, "_")}.jpg` },
          "Download thumbnail",
        ),
      );
    }
    // A finished video keeps its player element across updates so playback is not restarted.
    if (done && shownResult === t.id) return;
    shownResult = done ? t.id : null;
    const parts = [
      head,
      player,
      progress,
      failure,
      meta,
      attemptsList(t.attempts),
      actions,
      actionErr,
      done && !input.private
        ? h("div", { class: "remix" }, h("h2", null, "Remix"), remixForm(ctx, t.id))
        : null,
    ];
    body.replaceChildren(...parts.filter((p) => p !== null));
  };

  ctx.api
    .follow(
      id,
      (/** @type {any} */ t) => {
        showError(err, "");
        render(t);
      },
      leaving.signal,
      // A network blip: say so; the stream resumes where it stopped.
      (/** @type {unknown} */ e) => showError(err, `${e instanceof Error ? e.message : e} Retrying…`),
    )
    .catch((/** @type {unknown} */ e) => {
      if (leaving.signal.aborted) return;
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      if (e instanceof ApiError && e.status === 404) {
        body.replaceChildren(
          h("h1", null, "Not found"),
          h("p", { class: "muted" }, "No video with this id belongs to your key."),
        );
        return;
      }
      showError(err, e instanceof Error ? e.message : String(e));
    });
  return h("section", { class: "narrow" }, h("p", null, h("a", { href: "#/tasks" }, "← My videos")), card);
}
