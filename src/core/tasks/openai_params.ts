/**
 * Requests of the OpenAI Videos API (`POST /v1/videos`, remix, edits, extensions), validated
 * against the model capability table. Multipart and JSON bodies arrive here as the same shape:
 * plain fields (bracketed names already nested) plus uploaded files by field name.
 */
import { z } from "zod";
import { type ModelCapability, type ModelTable, parseSize } from "../catalogue/models.js";
import { errors } from "../errors.js";
import { additionsShape, imageRoles, openAiFrame, otherAdditions } from "./additions.js";
import { checkText, imageUrlProblem, MAX_PROMPT_CHARS, parseInput } from "./params.js";
import type { ImageRole } from "./task.js";

export interface UploadedFile {
  /** Where the upload was spooled on disk. */
  readonly path: string;
  readonly filename: string;
  readonly mimetype: string;
  readonly bytes: number;
  /** Hex SHA-256 of the content. */
  readonly sha256: string;
}

export interface FormBody {
  readonly fields: unknown;
  readonly files: Readonly<Record<string, UploadedFile>>;
}

/** What an `input_reference` turned out to be. */
export type ReferenceImage =
  | { kind: "url"; url: string }
  | { kind: "bytes"; data: Buffer; mimetype: string }
  | { kind: "file"; file: UploadedFile };

const DEFAULT_MODEL = "sora-2";
const DEFAULT_SIZE = "720x1280";
const DEFAULT_SECONDS = 4;

/** Any JSON value: checkSeconds names the model's allowed values for whatever is wrong with it. */
const seconds = z.union([z.string(), z.number(), z.null()]);
export const openAiCreateSchema = z.strictObject({
  prompt: z.string(),
  model: z.string().optional(),
  seconds: seconds.optional(),
  size: z.string().optional(),
  input_reference: z
    .strictObject({ image_url: z.string().optional(), file_id: z.string().optional() })
    .optional(),
  ...additionsShape,
});

/** File parts `POST /v1/videos` reads: `reference_images` may repeat (readForm numbers them). */
const CREATE_FILES = /^(input_reference|last_frame|reference_images\[\d+\])$/;

/**
 * Form text as the additions' types: `seed` "42" → 42, `audio` "true" → true, one
 * `reference_images` → a list. Anything else is left for the schema to name.
 */
function coerceAdditions(fields: unknown): unknown {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) return fields;
  const f = { ...(fields as Record<string, unknown>) };
  if (typeof f.seed === "string" && /^\d{1,10}$/.test(f.seed)) f.seed = Number(f.seed);
  if (f.audio === "true" || f.audio === "false") f.audio = f.audio === "true";
  if (typeof f.reference_images === "string") f.reference_images = [f.reference_images];
  return f;
}

function parseFields<T extends z.ZodType>(schema: T, fields: unknown): z.infer<T> {
  const body = fields ?? {};
  if (typeof body !== "object" || Array.isArray(body)) {
    throw errors.invalidField("", "The request body must be a JSON object or multipart form");
  }
  return parseInput(schema, body);
}

export function checkPrompt(prompt: string): string {
  checkText("prompt", prompt);
  const p = prompt.trim();
  if (p.length === 0) throw errors.invalidField("prompt", "'prompt' must not be empty");
  if (prompt.length > MAX_PROMPT_CHARS) {
    throw errors.invalidField(
      "prompt",
      `'prompt' is ${prompt.length} characters; at most ${MAX_PROMPT_CHARS} are allowed`,
    );
  }
  return p;
}

export function modelOf(models: ModelTable, name: string): ModelCapability {
  const cap = models.get(name);
  if (!cap)
    throw errors.invalidField(
      "model",
      `Unknown model '${name}'; available: ${[...models.keys()].join(", ")}`,
    );
  return cap;
}

/** `"8"` or `8` → 8, if the model offers it. */
export function checkSeconds(cap: ModelCapability, value: string | number | null | undefined): number {
  const n = value === undefined ? (cap.videoSeconds[0] ?? DEFAULT_SECONDS) : Number(value);
  if (typeof value === "string" && !/^\d{1,4}$/.test(value)) {
    throw errors.invalidField(
      "seconds",
      `'seconds' must be a whole number of seconds as a string, e.g. "8" (got "${value}")`,
    );
  }
  if (!cap.videoSeconds.includes(n)) {
    throw errors.invalidField(
      "seconds",
      `Model '${cap.name}' does not support seconds=${JSON.stringify(value)}; allowed: ${cap.videoSeconds.map((s) => `"${s}"`).join(", ")}`,
    );
  }
  return n;
}

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i;

export const isDataUrl = (url: string): boolean => url.startsWith("data:");

/** An image sent inline as `data:image/<type>;base64,…`, checked and decoded; `param` names it in errors. */
export function decodeImageDataUrl(
  url: string,
  maxBytes: number,
  param: string,
): ReferenceImage & { kind: "bytes" } {
  const m = DATA_URL.exec(url);
  if (!m?.[1] || !m[2])
    throw errors.invalidField(param, `'${param}': a data URL must look like data:image/<type>;base64,<data>`);
  const data = Buffer.from(m[2], "base64");
  if (data.length === 0) throw errors.invalidField(param, `'${param}': the data URL holds no data`);
  if (data.length > maxBytes)
    throw errors.invalidField(param, `'${param}': the image is larger than ${maxBytes} bytes`);
  return { kind: "bytes", data, mimetype: m[1].toLowerCase() };
}

function referenceOf(
  field: { image_url?: string | undefined; file_id?: string | undefined } | undefined,
  file: UploadedFile | undefined,
  maxBytes: number,
): ReferenceImage | null {
  if (file) {
    if (field)
      throw errors.invalidField(
        "input_reference",
        "Send input_reference as a file or as {image_url}, not both",
      );
    if (!file.mimetype.startsWith("image/")) {
      throw errors.invalidField("input_reference", `input_reference must be an image (got ${file.mimetype})`);
    }
    return { kind: "file", file };
  }
  if (!field) return null;
  if (field.file_id !== undefined) {
    throw errors.unsupportedParameter(
      "input_reference[file_id]",
      "input_reference[file_id] is not supported here: upload the image as a file or give input_reference[image_url]",
    );
  }
  const url = field.image_url;
  if (url === undefined)
    throw errors.invalidField("input_reference", "input_reference needs image_url (or send a file)");
  if (isDataUrl(url)) return decodeImageDataUrl(url, maxBytes, "input_reference[image_url]");
  const problem = imageUrlProblem(url);
  if (problem)
    throw errors.invalidField("input_reference[image_url]", `'input_reference[image_url]' ${problem}`);
  return { kind: "url", url };
}

export interface OpenAiCreate {
  readonly cap: ModelCapability;
  readonly prompt: string;
  readonly seconds: number;
  readonly size: string;
  readonly width: number;
  readonly height: number;
  readonly reference: ReferenceImage | null;
  /** Every input image in order (input_reference, last_frame, reference_images), with its role. */
  readonly images: readonly { ref: ReferenceImage; role: ImageRole | null; param: string }[];
  /** The additions as VideoRequest fields. */
  readonly additions: {
    aspectRatio?: string;
    resolution?: string;
    negativePrompt?: string;
    seed?: number;
    audio?: boolean;
  };
}

/** `reference_images[3]` → 3: repeated file parts in the order they came. */
const fileIndex = (name: string): number => Number(/\[(\d+)\]$/.exec(name)?.[1] ?? 0);

function imageField(value: string, param: string, maxBytes: number): ReferenceImage {
  if (isDataUrl(value)) return decodeImageDataUrl(value, maxBytes, param);
  const problem = imageUrlProblem(value);
  if (problem) throw errors.invalidField(param, `'${param}' ${problem}`);
  return { kind: "url", url: value };
}

function imageFile(file: UploadedFile, param: string): ReferenceImage {
  if (!file.mimetype.startsWith("image/"))
    throw errors.invalidField(param, `${param} must be an image (got ${file.mimetype})`);
  return { kind: "file", file };
}

/** `POST /v1/videos`. */
export function parseOpenAiCreate(body: FormBody, models: ModelTable, maxImageBytes: number): OpenAiCreate {
  const unknownFile = Object.keys(body.files).find((k) => !CREATE_FILES.test(k));
  if (unknownFile) throw errors.invalidField(unknownFile, `Unknown file field '${unknownFile}'`);
  const f = parseFields(openAiCreateSchema, coerceAdditions(body.fields));
  const prompt = checkPrompt(f.prompt);
  const cap = modelOf(models, f.model ?? DEFAULT_MODEL);
  const withFrame = f.aspect_ratio !== undefined || f.resolution !== undefined;
  let size: string;
  let px: { width: number; height: number } | undefined;
  const frame: { aspectRatio?: string; resolution?: string } = {};
  if (withFrame) {
    const given = f.size === undefined ? undefined : parseSize(f.size);
    if (f.size !== undefined && !given)
      throw errors.invalidField("size", `'size' must be WxH, e.g. 1280x720 (got ${JSON.stringify(f.size)})`);
    const r = openAiFrame(cap, given && f.size ? { ...given, text: f.size } : undefined, f);
    size = r.size;
    px = { width: r.width, height: r.height };
    if (r.aspectRatio !== undefined) frame.aspectRatio = r.aspectRatio;
    if (r.resolution !== undefined) frame.resolution = r.resolution;
  } else {
    size =
      f.size ?? (cap.videoSizes.includes(DEFAULT_SIZE) ? DEFAULT_SIZE : (cap.videoSizes[0] ?? DEFAULT_SIZE));
    px = parseSize(size);
    if (!px || !cap.videoSizes.includes(size)) {
      throw errors.invalidField(
        "size",
        `Model '${cap.name}' does not support size '${size}'; allowed: ${cap.videoSizes.join(", ")}`,
      );
    }
  }
  const secs = checkSeconds(cap, f.seconds);
  const reference = referenceOf(f.input_reference, body.files.input_reference, maxImageBytes);
  const lastFile = body.files.last_frame;
  if (lastFile && f.last_frame !== undefined)
    throw errors.invalidField("last_frame", "Send last_frame as a file or as a link, not both");
  const lastFrame = lastFile
    ? imageFile(lastFile, "last_frame")
    : f.last_frame === undefined
      ? undefined
      : imageField(f.last_frame, "last_frame", maxImageBytes);
  const refFiles = Object.keys(body.files)
    .filter((k) => k.startsWith("reference_images["))
    .sort((a, b) => fileIndex(a) - fileIndex(b))
    .map((k, i) => imageFile(body.files[k] as UploadedFile, `reference_images[${i}]`));
  const refLinks = (f.reference_images ?? []).map((u, i) =>
    imageField(u, `reference_images[${refFiles.length + i}]`, maxImageBytes),
  );
  const references = [...refFiles, ...refLinks];
  const roles = imageRoles(cap, {
    primary: reference ? [reference] : [],
    primaryField: "input_reference",
    lastFrame,
    references,
  });
  const images = roles
    ? roles.map((r) => ({ ref: r.image, role: r.role as ImageRole | null, param: r.param }))
    : reference
      ? [{ ref: reference, role: null, param: "input_reference" }]
      : [];
  return {
    cap,
    prompt,
    seconds: secs,
    size,
    ...px,
    reference,
    images,
    additions: { ...frame, ...otherAdditions(cap, f) },
  };
}

export const sourceSchema = z.strictObject({
  prompt: z.string(),
  seconds: seconds.optional(),
  video: z.strictObject({ id: z.string() }).optional(),
});

export interface SourceRequest {
  readonly prompt: string;
  /** Raw `seconds`, checked against the source's model by the caller. */
  readonly seconds: string | number | null | undefined;
  /** `video[id]`, or the uploaded `video` file: exactly one is set. */
  readonly videoId: string | null;
  readonly upload: UploadedFile | null;
}

/** `POST /v1/videos/edits` and `/extensions`: a prompt and a source video by id or upload. */
export function parseSourceRequest(body: FormBody, opts: { needsSeconds: boolean }): SourceRequest {
  const unknownFile = Object.keys(body.files).find((k) => k !== "video");
  if (unknownFile) throw errors.invalidField(unknownFile, `Unknown file field '${unknownFile}'`);
  const f = parseFields(sourceSchema, body.fields);
  const prompt = checkPrompt(f.prompt);
  if (!opts.needsSeconds && f.seconds !== undefined) {
    throw errors.invalidField("seconds", "Unknown field 'seconds': an edit keeps the source's length");
  }
  if (opts.needsSeconds && f.seconds === undefined)
    throw errors.invalidField("seconds", "'seconds' is required");
  const upload = body.files.video ?? null;
  if (upload && f.video) throw errors.invalidField("video", "Send video as a file or as video[id], not both");
  if (!upload && !f.video)
    throw errors.invalidField("video", "'video' is required: video[id] or an uploaded video file");
  if (upload && !upload.mimetype.startsWith("video/")) {
    throw errors.invalidField("video", `video must be a video file (got ${upload.mimetype})`);
  }
  return { prompt, seconds: f.seconds, videoId: f.video?.id ?? null, upload };
}

export const remixSchema = z.strictObject({ prompt: z.string() });
export function parseRemix(body: unknown): string {
  return checkPrompt(parseFields(remixSchema, body).prompt);
}
