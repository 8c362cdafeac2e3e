/**
 * The create form's optional additions (aspect ratio, resolution, last frame, reference images,
 * seed, negative prompt, audio): each control is shown only when the chosen model accepts it, per
 * the `capabilities` /v1/models gives, and filled with the values the model allows. Each field
 * has its error line `err-<param>`, which the server's `param` targets.
 */
import { h } from "../dom.js";

/**
 * @typedef {{ aspect_ratios: string[], resolutions: string[], last_frame: boolean, reference_images: number,
 *   seed: boolean, negative_prompt: boolean, audio: "none" | "optional" | "always" }} Accepts
 */

const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;

const readAsDataUrl = (/** @type {File} */ file) =>
  new Promise((resolve, reject) => {
    if (file.size > MAX_UPLOAD_BYTES) {
      reject(new Error(`${file.name} is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`));
      return;
    }
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error(`Could not read ${file.name}`));
    r.readAsDataURL(file);
  });

/** A labelled, hideable field with its error line. */
function field(
  /** @type {string} */ param,
  /** @type {string} */ label,
  /** @type {HTMLElement[]} */ controls,
  hint = "",
) {
  for (const c of controls) c.setAttribute("aria-describedby", `err-${param}`);
  return h(
    "div",
    { class: "field", "data-field": param, hidden: true },
    h("label", { for: controls[0]?.id ?? "" }, label),
    ...controls,
    h("p", { class: "hint" }, hint),
    h("p", { class: "field-error", id: `err-${param}`, role: "alert", hidden: true }),
  );
}

function fill(
  /** @type {HTMLSelectElement} */ select,
  /** @type {string} */ emptyLabel,
  /** @type {string[]} */ values,
) {
  const keep = select.value;
  select.replaceChildren(
    h("option", { value: "" }, emptyLabel),
    ...values.map((v) => h("option", { value: v }, v)),
  );
  select.value = values.includes(keep) ? keep : "";
}

/** The controls, `sync(capabilities)` on a model change, and `values()` for the request body. */
export function additionsControls() {
  const aspect = /** @type {HTMLSelectElement} */ (h("select", { id: "aspect-ratio", name: "aspect_ratio" }));
  const resolution = /** @type {HTMLSelectElement} */ (h("select", { id: "resolution", name: "resolution" }));
  const lastLink = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "last-frame",
      name: "last_frame",
      type: "url",
      placeholder: "https://example.com/end.jpg",
    })
  );
  const lastFile = /** @type {HTMLInputElement} */ (
    h("input", { id: "last-frame-file", type: "file", accept: "image/png,image/jpeg,image/webp,image/gif" })
  );
  const refLinks = /** @type {HTMLTextAreaElement} */ (
    h("textarea", { id: "reference-images", name: "reference_images", rows: 2, placeholder: "https://…" })
  );
  const refFiles = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "reference-files",
      type: "file",
      multiple: true,
      accept: "image/png,image/jpeg,image/webp,image/gif",
    })
  );
  const seed = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "seed",
      name: "seed",
      type: "number",
      min: 0,
      max: 4294967295,
      step: 1,
      placeholder: "random",
    })
  );
  const negative = /** @type {HTMLInputElement} */ (
    h("input", { id: "negative-prompt", name: "negative_prompt", maxlength: 2000, placeholder: "blur, text" })
  );
  const audio = /** @type {HTMLInputElement} */ (
    h("input", { id: "audio", name: "audio", type: "checkbox" })
  );

  const fields = {
    aspect: field("aspect_ratio", "Aspect ratio", [aspect], "Overrides the orientation."),
    resolution: field("resolution", "Resolution", [resolution], "Overrides the size."),
    last: field("last_frame", "Last frame", [lastLink, lastFile], "A link, or upload an image."),
    refs: field("reference_images", "Reference images", [refLinks, refFiles]),
    seed: field("seed", "Seed", [seed], "The same seed and prompt give a similar video."),
    negative: field(
      "negative_prompt",
      "Things to avoid",
      [negative],
      "What the video should not show (negative_prompt).",
    ),
    audio: h(
      "div",
      { class: "field", "data-field": "audio", hidden: true },
      h("label", { class: "check" }, audio, h("span", null, h("strong", null, "Make sound"))),
      h("p", { class: "field-error", id: "err-audio", role: "alert", hidden: true }),
    ),
  };

  /** @type {Accepts | null} */
  let accepts = null;

  const sync = (/** @type {Accepts} */ c) => {
    accepts = c;
    fill(aspect, "From the orientation", c.aspect_ratios);
    fill(resolution, "From the size", c.resolutions);
    fields.aspect.hidden = c.aspect_ratios.length === 0;
    fields.resolution.hidden = c.resolutions.length === 0;
    fields.last.hidden = !c.last_frame;
    fields.refs.hidden = c.reference_images === 0;
    const hint = fields.refs.querySelector(".hint");
    if (hint) hint.textContent = `Up to ${c.reference_images}: links (one per line) and/or uploads.`;
    fields.seed.hidden = !c.seed;
    fields.negative.hidden = !c.negative_prompt;
    fields.audio.hidden = c.audio !== "optional";
  };

  /** The additions to send; the orientation and size give way to an aspect ratio or resolution. */
  const values = async () => {
    /** @type {Record<string, unknown>} */
    const out = {};
    const c = accepts;
    if (!c) return out;
    if (c.aspect_ratios.length > 0 && aspect.value) out.aspect_ratio = aspect.value;
    if (c.resolutions.length > 0 && resolution.value) out.resolution = resolution.value;
    if (c.last_frame) {
      const file = lastFile.files?.[0];
      if (file) out.last_frame = await readAsDataUrl(file);
      else if (lastLink.value.trim()) out.last_frame = lastLink.value.trim();
    }
    if (c.reference_images > 0) {
      const refs = [
        ...refLinks.value.split(/\s+/).filter(Boolean),
        ...(await Promise.all(Array.from(refFiles.files ?? []).map(readAsDataUrl))),
      ];
      if (refs.length > 0) out.reference_images = refs;
    }
    if (c.seed && seed.value.trim() !== "") out.seed = Number(seed.value);
    if (c.negative_prompt && negative.value.trim()) out.negative_prompt = negative.value;
    if (c.audio === "optional") out.audio = audio.checked;
    return out;
  };

  return {
    frame: [fields.aspect, fields.resolution],
    inputs: [fields.last, fields.refs],
    options: [fields.seed, fields.negative, fields.audio],
    sync,
    values,
  };
}
