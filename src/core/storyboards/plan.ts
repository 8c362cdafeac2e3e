/**
 * The storyboard request (`POST /v1/video/storyboards`): its schema, and each shot validated as the
 * unified create it becomes (params.ts), so a shot is refused exactly as that create would be, with
 * the field named in the storyboard's terms (`shots[2].duration`).
 */
import { z } from "zod";
import type { ModelTable } from "../catalogue/models.js";
import { errors, isReelayError, ReelayError } from "../errors.js";
import {
  MAX_PROMPT_CHARS,
  type PlacedImage,
  parseBodyObject,
  parseUnifiedCreateWithImages,
} from "../tasks/params.js";
import { checkText } from "../tasks/params_text.js";
import type { StoryboardPlan, StoryboardShot, VideoRequest } from "../tasks/task.js";

export const MAX_SHOTS = 10;
export const MAX_CAPTION_CHARS = 500;
export const DEFAULT_CROSSFADE_S = 0.5;
export const MAX_CROSSFADE_S = 2;
/** The storyboard's own model name and task-id prefix (`storyboard:task_…`). */
export const STORYBOARD_MODEL = "storyboard";

const shotSchema = z.strictObject({
  prompt: z.string(),
  duration: z.int(),
  model: z.string().meta({ description: "This shot's model; default: the storyboard's `model`" }).optional(),
  images: z
    .array(z.string())
    .meta({
      description: "Image links or data URLs; the first is the shot's first frame where its model takes one",
    })
    .optional(),
  caption: z
    .string()
    .meta({ description: `Drawn over the shot, at most ${MAX_CAPTION_CHARS} characters` })
    .optional(),
  transition: z
    .enum(["cut", "crossfade"])
    .meta({ description: "How the film enters this shot from the previous one (default cut)" })
    .optional(),
});

export const storyboardSchema = z.strictObject({
  shots: z
    .array(shotSchema)
    .min(1, "give at least one shot")
    .max(MAX_SHOTS, `a storyboard has at most ${MAX_SHOTS} shots`),
  model: z.string().meta({ description: "The model of every shot that names none" }).optional(),
  orientation: z.enum(["portrait", "landscape"]).optional(),
  size: z.enum(["small", "large"]).optional(),
  aspect_ratio: z.string().optional(),
  resolution: z.string().optional(),
  audio: z
    .enum(["keep", "silent"])
    .meta({ description: "keep: each shot's sound (silence where it has none); silent: no sound" })
    .optional(),
  crossfade_s: z
    .number()
    .meta({
      description: `Seconds a crossfade overlaps two shots, more than 0 and at most ${MAX_CROSSFADE_S} (default ${DEFAULT_CROSSFADE_S})`,
    })
    .optional(),
  watermark: z.boolean().optional(),
  private: z.boolean().optional(),
  callback_url: z.string().optional(),
  dry_run: z.boolean().meta({ description: "true: answer the price, create nothing" }).optional(),
});
export type StoryboardBody = z.input<typeof storyboardSchema>;

/** A parsed storyboard: the parent's request, each shot's input images (the route stores inline ones). */
export interface ParsedStoryboard {
  readonly request: VideoRequest & { storyboard: StoryboardPlan };
  readonly images: readonly (readonly PlacedImage[])[];
  readonly dryRun: boolean;
}

/** Fields a shot names itself: an error about one is `shots[i].<field>`; others keep the storyboard's name. */
const SHOT_FIELDS = new Set(["prompt", "duration", "model", "images"]);

function inShot(e: unknown, i: number, own: ReadonlySet<string>): unknown {
  if (!isReelayError(e) || e.param === null) return e;
  const root = e.param.split(/[.[]/)[0] ?? "";
  const param = own.has(root) ? `shots[${i}].${e.param}` : e.param;
  return new ReelayError(e.code, `shots[${i}]: ${e.message}`, { param, retryable: e.retryable });
}

/** Checks a storyboard body; throws the 400 that names the field at fault. */
export function parseStoryboard(body: unknown, models: ModelTable): ParsedStoryboard {
  const b = parseBodyObject(storyboardSchema, body);
  const crossfadeS = b.crossfade_s ?? DEFAULT_CROSSFADE_S;
  if (!(crossfadeS > 0 && crossfadeS <= MAX_CROSSFADE_S))
    throw errors.invalidField(
      "crossfade_s",
      `'crossfade_s' must be more than 0 and at most ${MAX_CROSSFADE_S} seconds (got ${crossfadeS})`,
    );
  const shots: StoryboardShot[] = [];
  const images: PlacedImage[][] = [];
  b.shots.forEach((s, i) => {
    const model = s.model ?? b.model;
    if (model === undefined)
      throw errors.invalidField(
        `shots[${i}].model`,
        `'shots[${i}].model' is required (or give 'model' for every shot)`,
      );
    const own = new Set([...SHOT_FIELDS].filter((f) => f !== "model" || s.model !== undefined));
    const create = {
      model,
      prompt: s.prompt,
      duration: s.duration,
      images: s.images ?? [],
      ...(b.orientation === undefined ? {} : { orientation: b.orientation }),
      ...(b.size === undefined ? {} : { size: b.size }),
      ...(b.aspect_ratio === undefined ? {} : { aspect_ratio: b.aspect_ratio }),
      ...(b.resolution === undefined ? {} : { resolution: b.resolution }),
      ...(b.watermark === undefined ? {} : { watermark: b.watermark }),
      ...(b.private === undefined ? {} : { private: b.private }),
    };
    let shot: ReturnType<typeof parseUnifiedCreateWithImages>;
    try {
      shot = parseUnifiedCreateWithImages(create, models);
    } catch (e) {
      throw inShot(e, i, own);
    }
    const transition = s.transition ?? "cut";
    if (i > 0 && transition === "crossfade") {
      const shortest = Math.min(s.duration, b.shots[i - 1]?.duration ?? s.duration);
      if (crossfadeS >= shortest)
        throw errors.invalidField(
          "crossfade_s",
          `'crossfade_s' (${crossfadeS}) must be shorter than the shots it joins (shots[${i - 1}] and shots[${i}]: ${shortest} s)`,
        );
    }
    if (s.caption !== undefined) {
      checkText(`shots[${i}].caption`, s.caption);
      if (s.caption.length > MAX_CAPTION_CHARS)
        throw errors.invalidField(
          `shots[${i}].caption`,
          `'shots[${i}].caption' is ${s.caption.length} characters; at most ${MAX_CAPTION_CHARS} are allowed`,
        );
    }
    const caption = s.caption?.trim();
    shots.push({ request: shot.request, transition, ...(caption ? { caption } : {}) });
    images.push(shot.images);
  });
  const first = shots[0]?.request as VideoRequest;
  const plan: StoryboardPlan = { shots, audio: b.audio ?? "keep", crossfadeS };
  const request = {
    api: "unified" as const,
    model: STORYBOARD_MODEL,
    family: STORYBOARD_MODEL,
    prompt: shots
      .map((s) => s.request.prompt)
      .join(" / ")
      .slice(0, MAX_PROMPT_CHARS),
    orientation: first.orientation,
    size: first.size,
    // Every shot is scaled and padded to the first shot's frame (they all ask for the same one).
    width: first.width,
    height: first.height,
    // The seconds asked for (what the shots are priced by); the film's own length, less each
    // crossfade's overlap, is the result's `duration`.
    duration: shots.reduce((sum, s) => sum + s.request.duration, 0),
    images: [],
    imageKeys: [],
    source: null,
    watermark: first.watermark,
    private: first.private,
    ...(b.callback_url === undefined ? {} : { callbackUrl: b.callback_url }),
    ...(first.aspectRatio === undefined ? {} : { aspectRatio: first.aspectRatio }),
    ...(first.resolution === undefined ? {} : { resolution: first.resolution }),
    storyboard: plan,
  };
  return { request, images, dryRun: b.dry_run ?? false };
}
