import type { Orientation, SizeName } from "../catalogue/models.js";

export const TASK_STATUSES = ["pending", "processing", "completed", "failed", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);
export const isTerminal = (s: TaskStatus): boolean => TERMINAL.has(s);

/** The state machine: which status may follow which. Terminal states have no successor. */
const NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ["processing", "failed", "cancelled"],
  // processing → pending: a retryable failure puts the task back in the queue.
  processing: ["pending", "completed", "failed", "cancelled"],
  completed: [],
  failed: [],
  cancelled: [],
};
export const canMove = (from: TaskStatus, to: TaskStatus): boolean => NEXT[from].includes(to);
/**
 * Whether a write may leave a task in `from` with status `to`: a move the machine allows, or a task
 * still running that stays as it is (its progress written, its job restarted).
 */
export const canWrite = (from: TaskStatus, to: TaskStatus): boolean =>
  from === to ? !isTerminal(from) : canMove(from, to);

/**
 * Which API a task was created through (`openai`: `/v1/videos` and chat completions); both can read
 * it, this only decides whether it is published (isPublished).
 */
export type TaskApi = "unified" | "openai";

/** A video a new task starts from: remix, edit and extend all take one. */
export interface VideoSource {
  readonly kind: "remix" | "edit" | "extend";
  /** The task whose result it is; null for an uploaded video. */
  readonly taskId: string | null;
  /** Blob key of the source MP4 (a finished task's result, or the upload). */
  readonly videoKey: string;
  /** Seconds of the source, as probed. */
  readonly durationS: number;
  /**
   * The prompt the source shows as its caption (a finished task's): a renderer that draws a new
   * caption covers this one first. Absent for uploads, whose pictures Reelay did not caption.
   */
  readonly captionPrompt?: string;
}

/** A character (cameo) a prompt names as `@username`: a short span of a stored video. */
export interface CharacterRef {
  readonly username: string;
  /** Blob key of the video the character comes from. */
  readonly videoKey: string;
  readonly startS: number;
  readonly endS: number;
}

/** A create request after validation and normalisation: what every provider receives. */
export interface VideoRequest {
  readonly api: TaskApi;
  readonly model: string;
  readonly family: string;
  readonly prompt: string;
  readonly orientation: Orientation;
  /** As the caller asked: `small`/`large` (unified API) or `WxH` (OpenAI API). */
  readonly size: SizeName | string;
  readonly width: number;
  readonly height: number;
  /** Seconds to generate; for `extend`, the length of the new segment added to the source. */
  readonly duration: number;
  /** Image links, fetched by the provider. */
  readonly images: readonly string[];
  /** Uploaded reference images (files or data URLs), kept as blobs; they follow `images`. */
  readonly imageKeys: readonly string[];
  readonly source: VideoSource | null;
  /** Characters the prompt names (`@username`), resolved at create time. */
  readonly characters?: readonly CharacterRef[];
  readonly watermark: boolean;
  readonly private: boolean;
  /** Where to send this task's final event (checked against the SSRF rules at create time). */
  readonly callbackUrl?: string;
  /**
   * The role of each input image, in the order of `images` then `imageKeys`. Absent: the first
   * is the first frame where the model takes one, the others are references.
   */
  readonly imageRoles?: readonly ImageRole[];
  /** `W:H` as asked (`aspect_ratio`); absent: from `orientation` (or `WxH`). */
  readonly aspectRatio?: string;
  /** `720p`, `1080p`… as asked (`resolution`); absent: from `size`. */
  readonly resolution?: string;
  readonly negativePrompt?: string;
  readonly seed?: number;
  /** Whether to make sound, where the model lets the caller choose. */
  readonly audio?: boolean;
  /** A storyboard (the parent task of its shots): what to make and how to join it. */
  readonly storyboard?: StoryboardPlan;
  /** A shot of a storyboard: the parent task pays for it and joins it into the film. */
  readonly shotOf?: { readonly parentId: string; readonly index: number };
}

/** One shot of a storyboard: the create it becomes (a child task) and how it joins the film. */
export interface StoryboardShot {
  /** The shot's validated create request (its own images, if it gave any). */
  readonly request: VideoRequest;
  /** Drawn over the shot in the film; absent: none. */
  readonly caption?: string;
  /** How the film enters this shot from the previous one (the first shot's is ignored). */
  readonly transition: "cut" | "crossfade";
}

/** What a storyboard makes: its shots in order, and how the built-in ffmpeg joins them. */
export interface StoryboardPlan {
  readonly shots: readonly StoryboardShot[];
  /** `keep`: each shot's sound (silence where a shot has none); `silent`: a silent track throughout. */
  readonly audio: "keep" | "silent";
  /** Seconds each crossfade overlaps the two shots it joins. */
  readonly crossfadeS: number;
}

export type ImageRole = "first_frame" | "last_frame" | "reference";

/** The aspect ratio a request asks for, `W:H`: its `aspect_ratio`, else its orientation's. */
export const aspectRatioOf = (r: VideoRequest): string =>
  r.aspectRatio ?? (r.orientation === "portrait" ? "9:16" : "16:9");

/**
 * The resolution a request asks for (`480p`, `720p`, `1080p`): its `resolution`, else from its
 * size (`small` is 720p, `large` 1080p; a `WxH` by its short side).
 */
export function resolutionOf(r: VideoRequest): string {
  if (r.resolution) return r.resolution;
  const short = Math.min(r.width, r.height);
  return short >= 1080 ? "1080p" : short >= 720 ? "720p" : "480p";
}

/** Whether a request has an image in the first-frame role (text-to-video otherwise). */
export const hasFirstFrame = (r: VideoRequest): boolean => {
  const n = r.images.length + r.imageKeys.length;
  if (n === 0) return false;
  return r.imageRoles ? r.imageRoles.includes("first_frame") : true;
};

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

export interface TaskResult {
  readonly videoKey: string;
  readonly thumbnailKey: string;
  /** A JPEG grid of frames; null when the provider made none. */
  readonly spritesheetKey: string | null;
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
  readonly bytes: number;
  readonly watermarked: boolean;
  /** What the provider reported it used (tokens, seconds), for an upstream task that says. */
  readonly usage?: { readonly tokens?: number; readonly seconds?: number };
}

/** Which entry of the price table priced a task (catalogue/pricing.ts). */
export type PriceRule = "per_task" | "per_second" | "catalogue" | "storyboard";

/**
 * A task's money, written by the lifecycle with each ledger movement: held at create, then
 * settled (charged + refunded = held) or refunded in full. Absent while billing is off.
 */
export interface TaskCost {
  /** Credits held at create: the quoted price. */
  readonly held: number;
  /** Credits the task cost once settled; null while it runs (0 once refunded). */
  readonly charged: number | null;
  /** Credits given back: the part of the hold a settlement released, or the whole refund. */
  readonly refunded: number;
  readonly rule: PriceRule;
  /** Seconds the hold priced. */
  readonly seconds: number;
  /** Seconds the settlement billed. */
  readonly billedSeconds?: number;
  /** Where they came from: the delivered video, or the provider's own report when it is lower. */
  readonly basis?: "delivered" | "provider_seconds";
  /** The provider's own cost in US$, where it reported tokens and the catalogue prices them. */
  readonly providerCostUsd?: number;
}

export interface Task {
  readonly id: string;
  readonly ownerId: string;
  readonly request: VideoRequest;
  readonly status: TaskStatus;
  /** 0–100. */
  readonly progress: number;
  readonly createdAt: number;
  readonly statusUpdatedAt: number;
  /** Epoch ms after which the task fails with `task_timeout`. */
  readonly deadlineAt: number;
  readonly attempts: number;
  readonly error: TaskError | null;
  /** Why the last attempt failed, while a retry is pending; the final reason once failed. */
  readonly failureReason: string | null;
  readonly enhancedPrompt: string | null;
  readonly result: TaskResult | null;
  /** Credits held, charged and refunded; absent or null while billing is off. */
  readonly cost?: TaskCost | null;
}

/**
 * Whether a finished task shows in the public gallery. The seed's API publishes unless
 * `private: true`; the OpenAI APIs (`/v1/videos`, chat completions) never published videos, so
 * tasks made through them stay unlisted (still remixable by their owner). A storyboard's shots are
 * parts of its film, never listed on their own.
 */
export const isPublished = (r: VideoRequest): boolean =>
  r.api === "unified" && !r.private && r.shotOf === undefined;

/** A task as it starts: pending, nothing tried yet. Stored by `open`. */
export const newTask = (t: {
  id: string;
  ownerId: string;
  request: VideoRequest;
  now: number;
  deadlineAt: number;
}): Task => ({
  id: t.id,
  ownerId: t.ownerId,
  request: t.request,
  status: "pending",
  progress: 0,
  createdAt: t.now,
  statusUpdatedAt: t.now,
  deadlineAt: t.deadlineAt,
  attempts: 0,
  error: null,
  failureReason: null,
  enhancedPrompt: null,
  result: null,
});
