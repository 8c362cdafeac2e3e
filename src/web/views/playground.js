/**
 * The playground: every field of the unified create (model, prompt, orientation, size, duration,
 * images by link or upload, watermark, private) and the additions the chosen model accepts
 * (additions.js), with the model's allowed values taken from the capabilities /v1/models returns.
 * A refused field shows its error next to it.
 */
import { ApiError } from "../api.js";
import { h, showError } from "../dom.js";
import { additionsControls } from "./additions.js";

/** @typedef {{ id: string, capabilities: { orientations: string[], sizes: string[], durations: number[], max_images: number } & import("./additions.js").Accepts }} Model */

const SIZE_LABEL = { small: "Small · 720p", large: "Large · 1080p" };
const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

const readAsDataUrl = (/** @type {File} */ file) =>
  new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error(`Could not read ${file.name}`));
    r.readAsDataURL(file);
  });

/** A labelled field with its own error line (`err-<name>`), which the server's `param` targets. */
function field(
  /** @type {string} */ name,
  /** @type {string} */ label,
  /** @type {HTMLElement} */ control,
  hint = "",
) {
  control.setAttribute("aria-describedby", `err-${name}`);
  return h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: control.id }, label),
    control,
    hint ? h("p", { class: "hint" }, hint) : null,
    h("p", { class: "field-error", id: `err-${name}`, role: "alert", hidden: true }),
  );
}

function options(
  /** @type {HTMLSelectElement} */ select,
  /** @type {[string, string][]} */ items,
  /** @type {string} */ keep,
) {
  select.replaceChildren(...items.map(([value, label]) => h("option", { value }, label)));
  if (items.some(([v]) => v === keep)) select.value = keep;
}

/**
 * @param {import("../app.js").ctx} ctx
 */
export function playgroundView(ctx) {
  const formError = h("p", { class: "alert", role: "alert", hidden: true });
  const model = /** @type {HTMLSelectElement} */ (h("select", { id: "model", name: "model" }));
  const prompt = /** @type {HTMLTextAreaElement} */ (
    h("textarea", {
      id: "prompt",
      name: "prompt",
      rows: 4,
      maxlength: 4000,
      placeholder: "A paper boat drifting across a pond at sunrise",
    })
  );
  const orientation = /** @type {HTMLSelectElement} */ (
    h("select", { id: "orientation", name: "orientation" })
  );
  const size = /** @type {HTMLSelectElement} */ (h("select", { id: "size", name: "size" }));
  const duration = /** @type {HTMLSelectElement} */ (h("select", { id: "duration", name: "duration" }));
  const imageUrls = /** @type {HTMLTextAreaElement} */ (
    h("textarea", {
      id: "image-urls",
      name: "image-urls",
      rows: 2,
      placeholder: "https://example.com/photo.jpg",
    })
  );
  const upload = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "image-files",
      name: "image-files",
      class: "visually-hidden",
      type: "file",
      accept: "image/png,image/jpeg,image/webp,image/gif",
      multiple: true,
    })
  );
  const previews = h("div", { class: "previews" });
  const watermark = /** @type {HTMLInputElement} */ (
    h("input", { id: "watermark", type: "checkbox", checked: true })
  );
  const priv = /** @type {HTMLInputElement} */ (h("input", { id: "private", type: "checkbox" }));
  const submit = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "btn btn-primary btn-wide" }, "Create video")
  );

  const more = additionsControls();
  /** @type {Model[]} */
  let models = [];
  /** @type {{ name: string, dataUrl: string }[]} */
  const uploads = [];

  const capabilities = () => models.find((m) => m.id === model.value)?.capabilities;
  const syncChoices = () => {
    const c = capabilities();
    if (!c) return;
    options(
      orientation,
      c.orientations.map((o) => [o, o === "portrait" ? "Portrait (9:16)" : "Landscape (16:9)"]),
      orientation.value || "portrait",
    );
    options(
      size,
      c.sizes.map((s) => [s, /** @type {Record<string, string>} */ (SIZE_LABEL)[s] ?? s]),
      size.value,
    );
    options(
      duration,
      c.durations.map((d) => [String(d), `${d} seconds`]),
      duration.value,
    );
    more.sync(c);
    const hint = imagesField.querySelector(".hint");
    if (hint)
      hint.textContent = `Up to ${c.max_images} images: links (one per line) and/or uploads. They open the video in order.`;
  };
  model.addEventListener("change", syncChoices);

  const renderPreviews = () =>
    previews.replaceChildren(
      ...uploads.map((u, i) =>
        h(
          "figure",
          { class: "preview" },
          h("img", { src: u.dataUrl, alt: u.name }),
          h(
            "button",
            {
              type: "button",
              class: "preview-remove",
              "aria-label": `Remove ${u.name}`,
              onclick: () => {
                uploads.splice(i, 1);
                renderPreviews();
              },
            },
            "×",
          ),
        ),
      ),
    );
  upload.addEventListener("change", async () => {
    const box = /** @type {HTMLElement} */ (imagesField.querySelector(".field-error"));
    showError(box, "");
    for (const f of Array.from(upload.files ?? [])) {
      if (f.size > MAX_UPLOAD_BYTES) {
        showError(box, `${f.name} is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`);
        continue;
      }
      uploads.push({ name: f.name, dataUrl: /** @type {string} */ (await readAsDataUrl(f)) });
    }
    upload.value = "";
    renderPreviews();
  });

  const imagesField = h(
    "div",
    { class: "field", "data-field": "images" },
    h("label", { for: "image-urls" }, "Images (optional)"),
    imageUrls,
    h(
      "div",
      { class: "upload-row" },
      h("label", { for: "image-files", class: "btn btn-ghost" }, "Upload images…"),
      upload,
    ),
    previews,
    h("p", { class: "hint" }, "Links (one per line) and/or uploads."),
    h("p", { class: "field-error", id: "err-images", role: "alert", hidden: true }),
  );
  imageUrls.setAttribute("aria-describedby", "err-images");

  const clearErrors = () => {
    showError(formError, "");
    for (const el of form.querySelectorAll(".field-error")) showError(/** @type {HTMLElement} */ (el), "");
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  };
  /** Puts the server's message next to the field it names (`images[2]` → images). */
  const showFieldError = (/** @type {ApiError} */ e) => {
    const name = (e.param ?? "").replace(/\[.*$/, "");
    const box = name ? form.querySelector(`#err-${CSS.escape(name)}`) : null;
    if (!box) return showError(formError, e.message);
    showError(/** @type {HTMLElement} */ (box), e.message);
    const control = box.closest(".field")?.querySelector("input, select, textarea");
    control?.setAttribute("aria-invalid", "true");
    /** @type {HTMLElement | null | undefined} */ (control)?.focus();
  };

  const form = h(
    "form",
    { class: "card form-grid", id: "playground", novalidate: true },
    h(
      "div",
      { class: "form-head" },
      h("h1", null, "Create a video"),
      h(
        "p",
        { class: "muted" },
        "Describe it, pick a shape and a length; Reelay renders it and keeps it for you.",
      ),
    ),
    field("prompt", "Prompt", prompt),
    h(
      "div",
      { class: "row" },
      field("model", "Model", model),
      field("orientation", "Orientation", orientation),
    ),
    h("div", { class: "row" }, field("size", "Size", size), field("duration", "Duration", duration)),
    h("div", { class: "row" }, ...more.frame),
    imagesField,
    ...more.inputs,
    ...more.options,
    h(
      "fieldset",
      { class: "field toggles" },
      h("legend", null, "Options"),
      h(
        "label",
        { class: "check" },
        watermark,
        h(
          "span",
          null,
          h("strong", null, "Accept a watermarked fallback"),
          h("br"),
          h("span", { class: "hint" }, "Off: the video must come out clean, or the task fails."),
        ),
      ),
      h(
        "label",
        { class: "check" },
        priv,
        h(
          "span",
          null,
          h("strong", null, "Private"),
          h("br"),
          h("span", { class: "hint" }, "Never published to the gallery, and cannot be remixed."),
        ),
      ),
      h("p", { class: "field-error", id: "err-watermark", role: "alert", hidden: true }),
      h("p", { class: "field-error", id: "err-private", role: "alert", hidden: true }),
    ),
    formError,
    submit,
  );

  // A field's error goes away as soon as the field is edited.
  form.addEventListener("input", (ev) => {
    const f = /** @type {HTMLElement} */ (ev.target).closest(".field");
    const box = f?.querySelector(".field-error");
    if (box) showError(/** @type {HTMLElement} */ (box), "");
    /** @type {HTMLElement} */ (ev.target).removeAttribute("aria-invalid");
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const links = imageUrls.value.split(/\s+/).filter(Boolean);
    submit.disabled = true;
    submit.textContent = "Creating…";
    try {
      const additions = await more.values();
      // An aspect ratio or a resolution, when chosen, says what the orientation or size would.
      const body = {
        model: model.value,
        prompt: prompt.value,
        ...(additions.aspect_ratio ? {} : { orientation: orientation.value }),
        ...(additions.resolution ? {} : { size: size.value }),
        duration: Number(duration.value),
        images: [...links, ...uploads.map((u) => u.dataUrl)],
        watermark: watermark.checked,
        private: priv.checked,
        ...additions,
      };
      const created = await ctx.api.create(body);
      ctx.go(`#/task/${encodeURIComponent(created.id)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      if (e instanceof ApiError) showFieldError(e);
      else showError(formError, String(e));
    } finally {
      submit.disabled = false;
      submit.textContent = "Create video";
    }
  });

  ctx.api
    .models()
    .then((/** @type {{ data: Model[] }} */ list) => {
      models = list.data;
      options(
        model,
        models.map((m) => [m.id, m.id]),
        "sora-2",
      );
      syncChoices();
    })
    .catch((/** @type {unknown} */ e) => {
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      showError(formError, `Could not load the models: ${e instanceof Error ? e.message : e}`);
    });

  return h("section", { class: "narrow" }, form);
}
