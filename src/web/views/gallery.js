/** The public gallery: published videos, newest first, as thumbnails that play when opened. */
import { h, showError } from "../dom.js";
import { remixForm } from "./task.js";

const PAGE = 12;

/**
 * @param {import("../app.js").ctx} ctx
 * @param {(fn: () => void) => void} onCleanup
 */
export function galleryView(ctx, onCleanup) {
  const err = h("p", { class: "alert", role: "alert", hidden: true });
  const grid = h("ul", { class: "gallery", id: "gallery" });
  const more = /** @type {HTMLButtonElement} */ (
    h("button", { type: "button", class: "btn btn-wide", hidden: true }, "Load more")
  );
  /** @type {string | undefined} */
  let after;
  let alive = true;
  onCleanup(() => {
    alive = false;
  });

  const tile = (/** @type {any} */ v) => {
    const media = h(
      "button",
      { type: "button", class: "tile-media", "aria-label": `Play: ${v.prompt}` },
      v.thumbnail_url ? h("img", { src: v.thumbnail_url, alt: v.prompt, loading: "lazy" }) : null,
      h("span", { class: "tile-play", "aria-hidden": "true" }, "▶"),
    );
    media.addEventListener("click", () => {
      const video = h("video", {
        src: v.video_url,
        poster: v.thumbnail_url,
        controls: true,
        autoplay: true,
        playsinline: true,
        class: "tile-video",
      });
      media.replaceWith(video);
    });
    const li = h(
      "li",
      { class: `tile ${v.height > v.width ? "tile-portrait" : "tile-landscape"}`, "data-id": v.id },
      media,
      h(
        "div",
        { class: "tile-body" },
        h("p", { class: "tile-prompt" }, v.prompt),
        h(
          "p",
          { class: "muted small" },
          `${v.model} · ${Math.round(v.duration)} s`,
          v.remixed_from ? " · remix" : "",
        ),
      ),
    );
    // The tile's width and media box follow the video's own aspect ratio (see .gallery in style.css).
    // Set through the CSSOM: the page's CSP refuses style attributes.
    if (v.width > 0 && v.height > 0) li.style.setProperty("--ar", String(v.width / v.height));
    if (ctx.role() === "user") {
      const btn = h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          onclick: () => {
            btn.replaceWith(remixForm(ctx, v.id));
          },
        },
        "Remix",
      );
      li.querySelector(".tile-body")?.append(btn);
    }
    return li;
  };

  const load = async (/** @type {boolean} */ reset) => {
    more.disabled = true;
    showError(err, "");
    try {
      const page = await ctx.api.gallery({ after: reset ? undefined : after, limit: PAGE });
      if (!alive) return;
      if (reset) grid.replaceChildren();
      grid.append(...page.data.map(tile));
      if (reset && page.data.length === 0) grid.append(h("li", { class: "empty" }, "Nothing published yet."));
      after = page.last_id ?? after;
      more.hidden = !page.has_more;
    } catch (e) {
      showError(err, e instanceof Error ? e.message : String(e));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => load(false));
  load(true);

  return h(
    "section",
    { class: "wide" },
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Gallery"),
      h("p", { class: "muted" }, "Videos their makers published."),
    ),
    err,
    grid,
    more,
  );
}
