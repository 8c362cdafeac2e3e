/**
 * Reelay's optional additions to both create APIs (`aspect_ratio`, `resolution`, `last_frame`,
 * `reference_images`, `negative_prompt`, `seed`, `audio`), checked against the model's
 * capabilities in this one place, before anything is charged or sent upstream. The unified and
 * the OpenAI parsers (params.ts, openai_params.ts) call it with what their own fields say.
 */
import { z } from "zod";
import { dimensions, type ModelCapability, type Orientation, type SizeName } from "../catalogue/models.js";
import { errors } from "../errors.js";
import { checkText } from "./params_text.js";
import type { ImageRole } from "./task.js";

export const MAX_SEED = 4_294_967_295;
export const MAX_NEGATIVE_PROMPT_CHARS = 2000;
const ASPECT = /^(\d{1,2}):(\d{1,2})$/;
const RESOLUTION = /^(\d{3,4})p$/;

/** The additions' wire schema (JSON bodies); multipart text is coerced first (formAdditions). */
export const additionsShape = {
  aspect_ratio: z.string().meta({ description: "W:H, e.g. 16:9; see the model's aspect_ratios" }).optional(),
  resolution: z.string().meta({ description: "e.g. 720p; see the model's resolutions" }).optional(),
  last_frame: z.string().meta({ description: "An image link or data URL: the last frame" }).optional(),
  reference_images: z
    .array(z.string())
    .meta({ description: "Image links or data URLs the video should follow" })
    .optional(),
  negative_prompt: z
    .string()
    .meta({ description: `At most ${MAX_NEGATIVE_PROMPT_CHARS} characters` })
    .optional(),
  seed: z
    .int()
    .min(0, `must be from 0 to ${MAX_SEED}`)
    .max(MAX_SEED, `must be from 0 to ${MAX_SEED}`)
    .meta({ description: `0 to ${MAX_SEED}` })
    .optional(),
  audio: z.boolean().meta({ description: "Whether to make sound (models with optional audio)" }).optional(),
};

/** The additions as parsed, before the model's rules. */
export interface Additions {
  readonly aspect_ratio?: string | undefined;
  readonly resolution?: string | undefined;
  readonly negative_prompt?: string | undefined;
  readonly seed?: number | undefined;
  readonly audio?: boolean | undefined;
}

/** What `allowed` lists read like in messages: `4, 6 or 8`. */
export const orList = (xs: readonly (string | number)[]): string =>
  xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;

const notTaken = (cap: ModelCapability, field: string, why = "") =>
  errors.invalidField(
    field,
    `Model '${cap.name}' does not take '${field}'${why}${cap.accepts ? "" : ": it takes only the seed's fields"}`,
  );

/** The orientation of `W:H` (a square reads as neither: null). */
function ratioOrientation(ratio: string): Orientation | null {
  const m = ASPECT.exec(ratio);
  const w = Number(m?.[1]);
  const h = Number(m?.[2]);
  return w === h ? null : h > w ? "portrait" : "landscape";
}

const even = (n: number): number => 2 * Math.round(n / 2);

/** Pixels of `W:H` at `Np` (the short side is N): 16:9 at 1080p is 1920×1080, 1:1 at 720p 720×720. */
export function framePixels(ratio: string, resolution: string): { width: number; height: number } {
  const [, w = "16", h = "9"] = ASPECT.exec(ratio) ?? [];
  const short = Number(RESOLUTION.exec(resolution)?.[1] ?? 720);
  const [rw, rh] = [Number(w), Number(h)];
  if (rw >= rh) return { width: even((short * rw) / rh), height: short };
  return { width: short, height: even((short * rh) / rw) };
}

/** `W:H` reduced (1280x720 → 16:9). */
function reduced(width: number, height: number): string {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(width, height);
  return `${width / g}:${height / g}`;
}

const shortSide = (width: number, height: number): string => `${Math.min(width, height)}p`;

function checkListed(cap: ModelCapability, field: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value))
    throw errors.invalidField(
      field,
      `Model '${cap.name}' does not support ${field} '${value}'; allowed: ${orList(allowed)}`,
    );
}

function checkFormat(field: string, value: string, re: RegExp, example: string): void {
  if (!re.test(value))
    throw errors.invalidField(field, `'${field}' must look like ${example} (got ${JSON.stringify(value)})`);
}

/** The frame of a unified request: `orientation` + `size` (the seed's), or the additions. */
export interface UnifiedFrame {
  readonly orientation: Orientation | undefined;
  readonly size: SizeName | undefined;
}

export interface ResolvedFrame {
  readonly orientation: Orientation;
  readonly width: number;
  readonly height: number;
  readonly aspectRatio?: string;
  readonly resolution?: string;
}

const SIZE_RESOLUTION: Record<SizeName, string> = { small: "720p", large: "1080p" };

/**
 * The unified API's frame. `orientation` may be left out when `aspect_ratio` says it, and `size`
 * when `resolution` does; given both, they must agree (landscape is not 9:16, small is 720p).
 */
export function unifiedFrame(
  cap: ModelCapability,
  seed: UnifiedFrame,
  add: Additions,
  /** Whether the request has a first frame (its image's aspect may rule, see aspectFromFirstFrame). */
  firstFrame = false,
): ResolvedFrame {
  const { aspect_ratio: ratio, resolution } = add;
  if (ratio !== undefined) checkFormat("aspect_ratio", ratio, ASPECT, "16:9");
  if (resolution !== undefined) checkFormat("resolution", resolution, RESOLUTION, "720p");
  if (seed.orientation === undefined && ratio === undefined)
    throw errors.invalidField("orientation", "'orientation' is required (or give 'aspect_ratio')");
  if (seed.size === undefined && resolution === undefined)
    throw errors.invalidField("size", "'size' is required (or give 'resolution')");
  if (ratio !== undefined) {
    if (!cap.accepts) throw notTaken(cap, "aspect_ratio");
    const o = ratioOrientation(ratio);
    if (seed.orientation !== undefined && o !== null && o !== seed.orientation)
      throw errors.invalidField(
        "aspect_ratio",
        `'orientation' ${seed.orientation} conflicts with 'aspect_ratio' ${ratio} (${o}): send one, or make them agree`,
      );
  }
  if (resolution !== undefined) {
    if (!cap.accepts) throw notTaken(cap, "resolution");
    if (seed.size !== undefined && SIZE_RESOLUTION[seed.size] !== resolution)
      throw errors.invalidField(
        "resolution",
        `'size' ${seed.size} (${SIZE_RESOLUTION[seed.size]}) conflicts with 'resolution' ${resolution}: send one, or make them agree`,
      );
  }
  if (seed.size !== undefined && !cap.sizes.includes(seed.size)) {
    throw errors.invalidField(
      "size",
      `Model '${cap.name}' does not support size '${seed.size}'; allowed: ${cap.sizes.join(", ")}`,
    );
  }
  const orientation: Orientation = seed.orientation ?? ratioOrientation(ratio as string) ?? "landscape";
  const size: SizeName = seed.size ?? (resolution === "1080p" ? "large" : "small");
  const effRatio = ratio ?? (orientation === "portrait" ? "9:16" : "16:9");
  const effResolution = resolution ?? SIZE_RESOLUTION[size];
  if (cap.accepts) {
    if (!(firstFrame && cap.accepts.aspectFromFirstFrame))
      checkListed(
        cap,
        ratio !== undefined ? "aspect_ratio" : "orientation",
        effRatio,
        cap.accepts.aspectRatios,
      );
    checkListed(
      cap,
      resolution !== undefined ? "resolution" : "size",
      effResolution,
      cap.accepts.resolutions,
    );
  }
  if (ratio === undefined && resolution === undefined)
    return { orientation, ...dimensions(orientation, size) };
  return {
    orientation,
    ...framePixels(effRatio, effResolution),
    ...(ratio === undefined ? {} : { aspectRatio: ratio }),
    ...(resolution === undefined ? {} : { resolution }),
  };
}

/**
 * The OpenAI API's frame when `aspect_ratio` or `resolution` is given (`size` alone is checked
 * against the model's sizes as before). A `size` given too must agree with them.
 */
export function openAiFrame(
  cap: ModelCapability,
  size: { width: number; height: number; text: string } | undefined,
  add: Additions,
): ResolvedFrame & { size: string } {
  const { aspect_ratio: ratio, resolution } = add;
  if (ratio !== undefined) checkFormat("aspect_ratio", ratio, ASPECT, "16:9");
  if (resolution !== undefined) checkFormat("resolution", resolution, RESOLUTION, "720p");
  const accepts = cap.accepts;
  if (!accepts) throw notTaken(cap, ratio !== undefined ? "aspect_ratio" : "resolution");
  if (size) {
    const sizeRatio = reduced(size.width, size.height);
    if (ratio !== undefined && sizeRatio !== ratio)
      throw errors.invalidField(
        "aspect_ratio",
        `'size' ${size.text} (${sizeRatio}) conflicts with 'aspect_ratio' ${ratio}: send one, or make them agree`,
      );
    const sizeRes = shortSide(size.width, size.height);
    if (resolution !== undefined && sizeRes !== resolution)
      throw errors.invalidField(
        "resolution",
        `'size' ${size.text} (${sizeRes}) conflicts with 'resolution' ${resolution}: send one, or make them agree`,
      );
  }
  const prefer = (xs: readonly string[], wanted: string): string =>
    xs.includes(wanted) ? wanted : (xs[0] ?? wanted);
  const effRatio = ratio ?? (size ? reduced(size.width, size.height) : prefer(accepts.aspectRatios, "16:9"));
  const effResolution =
    resolution ?? (size ? shortSide(size.width, size.height) : prefer(accepts.resolutions, "720p"));
  checkListed(cap, ratio !== undefined ? "aspect_ratio" : "size", effRatio, accepts.aspectRatios);
  checkListed(cap, resolution !== undefined ? "resolution" : "size", effResolution, accepts.resolutions);
  const px = size ?? framePixels(effRatio, effResolution);
  return {
    orientation: px.height > px.width ? "portrait" : "landscape",
    width: px.width,
    height: px.height,
    size: `${px.width}x${px.height}`,
    ...(ratio === undefined ? {} : { aspectRatio: ratio }),
    ...(resolution === undefined ? {} : { resolution }),
  };
}

/** The non-image additions a model must take: seed, negative prompt, audio. */
export function otherAdditions(
  cap: ModelCapability,
  add: Additions,
): { negativePrompt?: string; seed?: number; audio?: boolean } {
  const a = cap.accepts;
  const out: { negativePrompt?: string; seed?: number; audio?: boolean } = {};
  if (add.seed !== undefined) {
    if (!a?.seed) throw notTaken(cap, "seed");
    out.seed = add.seed;
  }
  if (add.negative_prompt !== undefined) {
    if (!a?.negativePrompt) throw notTaken(cap, "negative_prompt");
    checkText("negative_prompt", add.negative_prompt);
    const text = add.negative_prompt.trim();
    if (text.length === 0)
      throw errors.invalidField("negative_prompt", "'negative_prompt' must not be empty");
    if (add.negative_prompt.length > MAX_NEGATIVE_PROMPT_CHARS)
      throw errors.invalidField(
        "negative_prompt",
        `'negative_prompt' is ${add.negative_prompt.length} characters; at most ${MAX_NEGATIVE_PROMPT_CHARS} are allowed`,
      );
    out.negativePrompt = text;
  }
  if (add.audio !== undefined) {
    if (!a || a.audio === "none") throw notTaken(cap, "audio", a ? ": its videos have no sound" : "");
    if (a.audio === "always" && !add.audio)
      throw errors.invalidField(
        "audio",
        `Model '${cap.name}' always makes sound: 'audio' may only be true (or left out)`,
      );
    out.audio = add.audio;
  }
  return out;
}

/** The input images of a request, each with where it came from (its field) and its role. */
export interface ImageInputs<T> {
  /** The seed's `images` (unified) or `input_reference` (OpenAI), in order. */
  readonly primary: readonly T[];
  /** The name of the primary field, for messages. */
  readonly primaryField: "images" | "input_reference";
  readonly lastFrame: T | undefined;
  readonly references: readonly T[];
}

/**
 * Roles of the request's images: the first primary image is the first frame where the model takes
 * one (a reference otherwise), the other primary images are references, `last_frame` is the last
 * frame, `reference_images` references. Checks what the model takes and how many.
 * Returns null roles when nothing asks for them (a model without `accepts`, seed fields only):
 * then every provider reads the images as before.
 */
export function imageRoles<T>(
  cap: ModelCapability,
  inputs: ImageInputs<T>,
): { image: T; role: ImageRole; param: string }[] | null {
  const a = cap.accepts;
  const { primary, primaryField, lastFrame, references } = inputs;
  if (lastFrame !== undefined && !a?.lastFrame) throw notTaken(cap, "last_frame");
  if (references.length > 0 && !a) throw notTaken(cap, "reference_images");
  const total = primary.length + (lastFrame === undefined ? 0 : 1) + references.length;
  if (total > cap.maxImages && (lastFrame !== undefined || references.length > 0))
    throw errors.invalidField(
      references.length > 0 ? "reference_images" : "last_frame",
      `Model '${cap.name}' takes at most ${cap.maxImages} images in all; '${primaryField}', 'last_frame' and 'reference_images' together give ${total}`,
    );
  if (!a) return null;
  const firstIsFrame = a.firstFrame && primary.length > 0;
  const primaryRefs = primary.length - (firstIsFrame ? 1 : 0);
  if (primaryRefs + references.length > a.referenceImages) {
    const field = references.length > 0 ? "reference_images" : primaryField;
    throw errors.invalidField(
      field,
      a.referenceImages === 0
        ? `Model '${cap.name}' takes no reference images${primaryRefs > 0 ? ` (only the first of '${primaryField}' is used, as the first frame)` : ""}`
        : `Model '${cap.name}' takes at most ${a.referenceImages} reference images (got ${primaryRefs + references.length}${primaryRefs > 0 ? `, counting '${primaryField}' after the first` : ""})`,
    );
  }
  return [
    ...primary.map((image, i) => ({
      image,
      role: (i === 0 && firstIsFrame ? "first_frame" : "reference") as ImageRole,
      param: primaryField === "images" ? `images[${i}]` : "input_reference",
    })),
    ...(lastFrame === undefined
      ? []
      : [{ image: lastFrame, role: "last_frame" as ImageRole, param: "last_frame" }]),
    ...references.map((image, i) => ({
      image,
      role: "reference" as ImageRole,
      param: `reference_images[${i}]`,
    })),
  ];
}
