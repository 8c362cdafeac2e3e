/**
 * The unified create request (the seed's `POST /v1/video/create` body): schema, validation
 * against the model capability table, and normalisation into a VideoRequest.
 */
import { z } from "zod";
import { type ModelTable, ORIENTATIONS, SIZES } from "../catalogue/models.js";
import { errors, type ReelayError } from "../errors.js";
import { additionsShape, imageRoles, orList, otherAdditions, unifiedFrame } from "./additions.js";
import { checkText } from "./params_text.js";
import type { ImageRole, VideoRequest } from "./task.js";

export { checkText };

export const MAX_PROMPT_CHARS = 4000;
export const MAX_IMAGE_URL_CHARS = 2048;

/** The wire schema, field for field as the seed documents it (types only; model rules come after). */
export const unifiedCreateSchema = z.strictObject({
  images: z.array(z.string()).default([]),
  model: z.string(),
  /** Required unless `aspect_ratio` says it (checked after the schema, with the model). */
  orientation: z
    .enum(ORIENTATIONS)
    .meta({ description: "portrait or landscape; required unless aspect_ratio is given" })
    .optional(),
  prompt: z.string(),
  /** Required unless `resolution` says it. */
  size: z
    .enum(SIZES)
    .meta({ description: "small = 720p, large = 1080p; required unless resolution is given" })
    .optional(),
  duration: z.int(),
  watermark: z.boolean().default(true),
  private: z.boolean().default(false),
  /** Not in the seed: where to send this task's final event (a webhook, signed with the owner's callback secret). */
  callback_url: z.string().optional(),
  ...additionsShape,
});
export type UnifiedCreateBody = z.input<typeof unifiedCreateSchema>;

const typeName = (v: unknown): string => {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && !Number.isInteger(v)) return "a non-integer number";
  return typeof v;
};

const pathOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    "",
  );

const valueAt = (body: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined),
    body,
  );

// Every number in Reelay's request bodies is a whole number (seconds, counts), so say so.
const article = (expected: string): string =>
  expected === "int" || expected === "number"
    ? "an integer"
    : expected === "array"
      ? "an array"
      : `a ${expected}`;

/** Turns the first zod issue into an error that names the field and says what is allowed. */
export function issueToError(issue: z.core.$ZodIssue, body: unknown): ReelayError {
  const param = pathOf(issue.path);
  const got = valueAt(body, issue.path);
  if (got === undefined && issue.code !== "unrecognized_keys") {
    return errors.invalidField(param, `'${param}' is required`);
  }
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0] ?? "";
      const field = param ? `${param}.${key}` : key;
      return errors.invalidField(field, `Unknown field '${field}': this API does not accept it`);
    }
    case "invalid_type":
      return errors.invalidField(
        param,
        `'${param}' must be ${article(issue.expected)} (got ${typeName(got)})`,
      );
    case "invalid_value":
      return errors.invalidField(
        param,
        `'${param}' must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")} (got ${JSON.stringify(got)})`,
      );
    default:
      return errors.invalidField(param, `'${param}': ${issue.message}`);
  }
}

/** Parses `value` with `schema`; a failure is the 400 that names the first field at fault. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw issueToError(parsed.error.issues[0] as z.core.$ZodIssue, value);
  return parsed.data;
}

/** A JSON object body checked by `schema`; a failure is the 400 naming the field (an unknown field first). */
export function parseBodyObject<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw errors.invalidField("", `The request body must be a JSON object (got ${typeName(body)})`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // Report unknown fields first: they usually explain the other issues (a misspelt field).
    const issues = [...parsed.error.issues].sort(
      (a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"),
    );
    throw issueToError(issues[0] as z.core.$ZodIssue, body);
  }
  return parsed.data;
}

/** Checks a body against the schema and the model table. Throws a ReelayError naming the field at fault. */
export function parseUnifiedCreate(body: unknown, models: ModelTable): VideoRequest {
  return parseUnifiedCreateWithImages(body, models).request;
}

/** A unified create's input images (links or data URLs) with their roles and the field each came from. */
export interface PlacedImage {
  readonly image: string;
  /** null: the model reads images as before (no roles). */
  readonly role: ImageRole | null;
  readonly param: string;
}

/**
 * parseUnifiedCreate, also returning every input image (`images`, `last_frame`,
 * `reference_images`) in order with its role: the route stores the inline ones.
 */
export function parseUnifiedCreateWithImages(
  body: unknown,
  models: ModelTable,
): { request: VideoRequest; images: PlacedImage[] } {
  const b = parseBodyObject(unifiedCreateSchema, body);
  const cap = models.get(b.model);
  if (!cap) {
    throw errors.invalidField(
      "model",
      `Unknown model '${b.model}'; available: ${[...models.keys()].join(", ")}`,
    );
  }
  checkText("prompt", b.prompt);
  const prompt = b.prompt.trim();
  if (prompt.length === 0) throw errors.invalidField("prompt", "'prompt' must not be empty");
  if (b.prompt.length > MAX_PROMPT_CHARS) {
    throw errors.invalidField(
      "prompt",
      `'prompt' is ${b.prompt.length} characters; at most ${MAX_PROMPT_CHARS} are allowed`,
    );
  }
  const frame = unifiedFrame(
    cap,
    { orientation: b.orientation, size: b.size },
    b,
    b.images.length > 0 && cap.accepts?.firstFrame === true,
  );
  if (!cap.durations.includes(b.duration)) {
    throw errors.invalidField(
      "duration",
      `Model '${cap.name}' does not support duration ${b.duration}; allowed: ${cap.durations.join(", ")} (seconds), that is ${orList(cap.durations)}`,
    );
  }
  if (b.images.length > cap.maxImages) {
    throw errors.invalidField(
      "images",
      `Model '${cap.name}' accepts at most ${cap.maxImages} images (got ${b.images.length})`,
    );
  }
  const lastFrame = b.last_frame;
  const references = b.reference_images ?? [];
  const links: [string, string][] = [
    ...b.images.map((u, i): [string, string] => [u, `images[${i}]`]),
    ...(lastFrame === undefined ? [] : [[lastFrame, "last_frame"] as [string, string]]),
    ...references.map((u, i): [string, string] => [u, `reference_images[${i}]`]),
  ];
  for (const [url, param] of links) {
    // Inline images (data URLs) are decoded and checked where they are stored.
    if (url.startsWith("data:")) continue;
    const problem = imageUrlProblem(url);
    if (problem) throw errors.invalidField(param, `'${param}' ${problem}`);
  }
  const roles = imageRoles(cap, {
    primary: b.images,
    primaryField: "images",
    lastFrame,
    references,
  });
  const extra = otherAdditions(cap, b);
  const images: PlacedImage[] =
    roles ?? b.images.map((image, i) => ({ image, role: null, param: `images[${i}]` }));
  const request: VideoRequest = {
    api: "unified",
    model: cap.name,
    family: cap.family,
    prompt,
    orientation: frame.orientation,
    size: b.size ?? (frame.resolution === "1080p" ? "large" : "small"),
    width: frame.width,
    height: frame.height,
    duration: b.duration,
    images: images.map((i) => i.image),
    imageKeys: [],
    source: null,
    watermark: b.watermark,
    private: b.private,
    ...(b.callback_url === undefined ? {} : { callbackUrl: b.callback_url }),
    ...(roles ? { imageRoles: roles.map((r) => r.role) } : {}),
    ...(frame.aspectRatio === undefined ? {} : { aspectRatio: frame.aspectRatio }),
    ...(frame.resolution === undefined ? {} : { resolution: frame.resolution }),
    ...extra,
  };
  return { request, images };
}

/** Syntax checks on an image link; where it points is checked when it is fetched. */
export function imageUrlProblem(url: string): string | null {
  if (url.length > MAX_IMAGE_URL_CHARS) return `is longer than ${MAX_IMAGE_URL_CHARS} characters`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return `must be an http or https link (got ${u.protocol.replace(":", "")})`;
  }
  if (u.username || u.password) return "must not contain credentials";
  return null;
}
