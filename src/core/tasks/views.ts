/**
 * The unified format's view of a task (`GET /v1/video/query`, the task lists, cancel, and every
 * webhook payload): a pure function of a task and the time, so the HTTP routes and the webhook
 * outbox show the same JSON. Every field is documented in the README.
 */
import type { LinkSigner } from "../media/links.js";
import type { Clock } from "../ports.js";
import type { ImageRole, PriceRule, Task, TaskError, TaskStatus, VideoRequest } from "./task.js";

/** A task's money as both APIs show it (`cost`); null while billing is off. */
export interface CostView {
  held: number;
  charged: number | null;
  refunded: number;
  currency: "credits";
  rule: PriceRule;
  seconds: number;
  billed_seconds?: number;
  basis?: "delivered" | "provider_seconds";
  provider_cost_usd?: number;
}

export function costView(task: Task): CostView | null {
  const c = task.cost;
  if (!c) return null;
  return {
    held: c.held,
    charged: c.charged,
    refunded: c.refunded,
    currency: "credits",
    rule: c.rule,
    seconds: c.seconds,
    ...(c.billedSeconds === undefined ? {} : { billed_seconds: c.billedSeconds }),
    ...(c.basis === undefined ? {} : { basis: c.basis }),
    ...(c.providerCostUsd === undefined ? {} : { provider_cost_usd: c.providerCostUsd }),
  };
}

/**
 * Reelay's additions as the task was created with them, each present only where given (both
 * views show them; `image_roles` is the role of each input image, links first, then uploads).
 */
export interface InputAdditions {
  aspect_ratio?: string;
  resolution?: string;
  negative_prompt?: string;
  seed?: number;
  audio?: boolean;
  image_roles?: readonly ImageRole[];
}

export function inputAdditions(r: VideoRequest): InputAdditions {
  return {
    ...(r.aspectRatio === undefined ? {} : { aspect_ratio: r.aspectRatio }),
    ...(r.resolution === undefined ? {} : { resolution: r.resolution }),
    ...(r.negativePrompt === undefined ? {} : { negative_prompt: r.negativePrompt }),
    ...(r.seed === undefined ? {} : { seed: r.seed }),
    ...(r.audio === undefined ? {} : { audio: r.audio }),
    ...(r.imageRoles === undefined ? {} : { image_roles: r.imageRoles }),
  };
}

/** The unified task view; `http/schemas.ts` holds its JSON schema (UnifiedQueryResponse). */
export interface TaskQueryView {
  id: string;
  status: TaskStatus;
  status_update_time: number;
  video_url: string | null;
  thumbnail_url: string | null;
  width: number | null;
  height: number | null;
  duration: number | null;
  enhanced_prompt: string | null;
  progress: number;
  remixed_from: string | null;
  error: TaskError | null;
  /** The provider's own usage figures (tokens, seconds), when it reported them. */
  usage: { tokens?: number; seconds?: number } | null;
  /** Credits held, charged and refunded (null while billing is off). */
  cost: CostView | null;
  detail: {
    id: string;
    status: TaskStatus;
    created_at: number;
    input: {
      model: string;
      prompt: string;
      orientation: string;
      size: string;
      duration: number;
      images: readonly string[];
      watermark: boolean;
      private: boolean;
    } & InputAdditions;
    pending_info: {
      progress_pct: number;
      status: TaskStatus;
      failure_reason: string | null;
      attempts: number;
    };
    url: string | null;
    thumbnail_url: string | null;
    urls_expire_at: number | null;
    has_watermark: boolean | null;
  };
}

/** The task as the unified format shows it, with result links signed from now. */
export function taskQueryView(task: Task, s: { clock: Clock; links: LinkSigner }): TaskQueryView {
  const now = s.clock.now();
  const video = task.result ? s.links.sign(task.result.videoKey, now) : null;
  const thumb = task.result ? s.links.sign(task.result.thumbnailKey, now) : null;
  const r = task.request;
  return {
    id: task.id,
    status: task.status,
    status_update_time: task.statusUpdatedAt,
    video_url: video?.url ?? null,
    thumbnail_url: thumb?.url ?? null,
    width: task.result?.width ?? null,
    height: task.result?.height ?? null,
    duration: task.result?.durationS ?? null,
    enhanced_prompt: task.enhancedPrompt,
    progress: task.progress,
    remixed_from: r.source?.kind === "remix" ? r.source.taskId : null,
    error: task.status === "failed" ? task.error : null,
    usage: task.result?.usage ?? null,
    cost: costView(task),
    detail: {
      id: task.id,
      status: task.status,
      created_at: task.createdAt,
      input: {
        model: r.model,
        prompt: r.prompt,
        orientation: r.orientation,
        size: r.size,
        duration: r.duration,
        images: r.images,
        watermark: r.watermark,
        private: r.private,
        ...inputAdditions(r),
      },
      pending_info: {
        progress_pct: task.progress / 100,
        status: task.status,
        failure_reason: task.failureReason,
        attempts: task.attempts,
      },
      url: video?.url ?? null,
      thumbnail_url: thumb?.url ?? null,
      urls_expire_at: video?.expiresAt ?? null,
      has_watermark: task.result?.watermarked ?? null,
    },
  };
}
