/**
 * new-api's own video task API (another new-api instance as the upstream): Reelay's request → the
 * create body, the task answer's status words → Reelay's states, and new-api's error answers →
 * Reelay's error classes. Pure functions (unit-tested in test/unit/provider-newapi.test.ts).
 *
 * Sources (read 2026-12-03):
 * - https://docs.newapi.pro/en/docs/api/ai-model/videos/createvideogeneration (create: `model`,
 *   `prompt`, `image` (URL or Base64), `duration` number, `width`, `height`, `fps`, `seed`, `n`
 *   integers, `response_format`, `user`, `metadata` (vendor extras such as `negative_prompt`) →
 *   `{task_id, status}`; errors `{error: {message, type, param, code}}`; Bearer `sk-…`).
 * - https://docs.newapi.pro/en/docs/api/ai-model/videos/get-video-generation (query: `{task_id,
 *   status: queued|in_progress|completed|failed, url, format, metadata: {duration, fps, width,
 *   height, seed}, error: {code, message}}`).
 * - QuantumNous/new-api source: `dto/video.go` (VideoRequest, VideoResponse, VideoTaskResponse),
 *   `router/video-router.go` (routes; `GET /v1/videos/{task_id}/content` is its result proxy),
 *   `relay/relay_task.go` (the query really answers `{code: "success", message, data}` whose `data`
 *   is the stored task: `status` NOT_START|SUBMITTED|QUEUED|IN_PROGRESS|SUCCESS|FAILURE|UNKNOWN,
 *   `progress` "NN%", `fail_reason`, `result_url`; for Gemini/Vertex channels `data` is
 *   `{task_id, status: queued|processing|succeeded|failed, url, format}`), `model/task.go`
 *   (the status words), `relay/common/relay_info.go` (TaskSubmitReq: what the create handler
 *   parses: `prompt`, `model`, `image`, `images`, `size` "WxH", `duration`, `seconds`, `metadata`),
 *   `controller/relay.go` (task errors answered as `{code, message, data}` with the HTTP status).
 * Where the published page and the source differ, both shapes are read; the create sends the
 * documented fields plus `size` (the field the source's handler reads for the frame size: it
 * ignores `width`/`height`).
 */
import type { UpstreamErrorClass, UpstreamState } from "../../../core/upstream/ports.js";
import { normaliseProgress, normaliseStatus, obj, str } from "../upstream/status.js";

/** The create body (`POST /v1/video/generations`). */
export interface NewApiCreateBody {
  model: string;
  prompt: string;
  duration: number;
  width: number;
  height: number;
  size: string;
  seed?: number;
  image?: string;
  metadata?: { negative_prompt: string };
}

/** A request new-api's video API cannot carry: refused before anything is sent (the field named). */
export class NewApiUnsupported extends Error {}

/**
 * The create body. new-api's video API takes one input image (`image`, the first frame); a last
 * frame or reference images have no documented field, so they are refused rather than dropped.
 * `audio` has no field either: it is not sent (the relay's model decides).
 */
export function createBody(r: {
  model: string;
  prompt: string;
  duration: number;
  width: number;
  height: number;
  negativePrompt?: string;
  seed?: number;
  firstFrame: string | null;
  lastFrame: boolean;
  references: number;
}): NewApiCreateBody {
  if (r.lastFrame)
    throw new NewApiUnsupported("last_frame: new-api's video API takes one image (the first frame) only");
  if (r.references > 0)
    throw new NewApiUnsupported(
      "reference_images: new-api's video API takes one image (the first frame) only",
    );
  const body: NewApiCreateBody = {
    model: r.model,
    prompt: r.prompt,
    duration: r.duration,
    width: r.width,
    height: r.height,
    size: `${r.width}x${r.height}`,
  };
  if (r.seed !== undefined) body.seed = r.seed;
  if (r.firstFrame !== null) body.image = r.firstFrame;
  if (r.negativePrompt) body.metadata = { negative_prompt: r.negativePrompt };
  return body;
}

/** The task object in an answer: `data` of new-api's `{code, message, data}` wrapper, or the answer itself. */
export function taskOf(json: unknown): Record<string, unknown> {
  const v = obj(json);
  const data = obj(v.data);
  return Object.keys(data).length > 0 ? data : v;
}

/** The task id of a create's answer (`task_id`, else `id`, in the answer or its `data`). */
export function createdId(json: unknown): string | null {
  const t = taskOf(json);
  return str(t.task_id) ?? str(t.id) ?? (typeof t.id === "number" ? String(t.id) : null);
}

/**
 * A 2xx answer that is an error all the same: new-api's task wrapper with a `code` other than
 * `success` and no task, or an `error` object. Null when it is not one.
 */
export function errorInBody(json: unknown): { code: string | null; message: string } | null {
  const v = obj(json);
  const t = taskOf(json);
  // A task answer (it has a status or a task id): its `error` is the task's, read by readTask.
  if (str(t.status) !== null || str(t.task_id) !== null) return null;
  const e = obj(v.error);
  if (str(e.message) !== null || str(e.code) !== null) {
    const code = str(e.code) ?? (typeof e.code === "number" ? String(e.code) : null) ?? str(e.type);
    return { code, message: str(e.message) ?? code ?? "error" };
  }
  const code = str(v.code);
  if (code !== null && code !== "success") return { code, message: str(v.message) ?? code };
  return null;
}

const POLICY = [
  /sensitive/i,
  /moderat/i,
  /content[ _-]?policy/i,
  /safety/i,
  /prohibited/i,
  /violat/i,
  /nsfw/i,
  /inappropriate/i,
  /risk[ _-]?control/i,
  /敏感/,
  /违规/,
  /审核/,
];
const QUOTA = [/quota/i, /insufficient/i, /balance/i, /余额/, /额度/];
const AUTH = [/invalid[ _-]?token/i, /unauthori[sz]ed/i, /api[ _-]?key/i, /令牌/];

/**
 * The class of a new-api error from its code and words (new-api passes its vendors' reasons
 * through, so moderation is read from the words: `sensitive_words_detected`, "content policy", …).
 * `status` is the HTTP status when there is one.
 */
export function classify(
  e: { code: string | null; message: string },
  status: number | null,
): UpstreamErrorClass {
  const text = `${e.code ?? ""} ${e.message}`;
  if (POLICY.some((p) => p.test(text))) return "content_policy";
  if (status === 401 || AUTH.some((p) => p.test(text))) return "auth";
  if (status === 402 || QUOTA.some((p) => p.test(text))) return "quota";
  if (status === 429 || status === 503 || /rate[ _-]?limit|overload|saturat|no available channel/i.test(text))
    return "overloaded";
  if (status === 403) return "auth";
  if (status !== null && status >= 500) return "upstream_internal";
  return "invalid_request";
}

/** Whether an error of this class is the channel's fault (fail over, cool the channel down). */
export const channelFault = (c: UpstreamErrorClass): boolean =>
  c === "auth" || c === "quota" || c === "overloaded" || c === "upstream_internal" || c === "timeout";

/**
 * The class of a task that failed while running: moderation by its words, a refused parameter
 * (`invalid …`), else the provider's own failure.
 */
export function taskFailureClass(code: string | null, message: string): UpstreamErrorClass {
  const text = `${code ?? ""} ${message}`;
  if (POLICY.some((p) => p.test(text))) return "content_policy";
  if (/invalid|参数/i.test(text)) return "invalid_request";
  return "upstream_internal";
}

export interface NewApiTask {
  readonly state: UpstreamState;
  readonly raw: string | null;
  readonly known: boolean;
  readonly progress: number | null;
  /** The result link: `url` (documented), else `result_url` (the stored task); null when none. */
  readonly url: string | null;
  readonly seconds: number | null;
  readonly error: { code: string | null; message: string; class: UpstreamErrorClass } | null;
}

/**
 * A query answer, either shape: the documented `{task_id, status, url, metadata, error}` or the
 * source's `{code, data: {status, progress, fail_reason, result_url}}`. Status words of every
 * set (queued, in_progress, completed, failed; NOT_START, SUBMITTED, QUEUED, IN_PROGRESS, SUCCESS,
 * FAILURE; processing, succeeded) are read; `unknown`, UNKNOWN, any other word or none is still
 * running (`known: false`), never a failure.
 */
export function readTask(json: unknown): NewApiTask {
  const t = taskOf(json);
  const s = normaliseStatus(t.status);
  const url = str(t.url) ?? str(t.result_url);
  const meta = obj(t.metadata);
  const seconds = typeof meta.duration === "number" && meta.duration > 0 ? meta.duration : null;
  const progress = normaliseProgress(t.progress, undefined);
  if (s.state === "failed" || s.state === "expired") {
    const e = obj(t.error);
    const code = str(e.code) ?? (typeof e.code === "number" && e.code !== 0 ? String(e.code) : null);
    const message =
      str(e.message) ?? str(t.fail_reason) ?? str(t.message) ?? `new-api reports status '${s.raw}'`;
    return {
      state: s.state,
      raw: s.raw,
      known: true,
      progress,
      url: null,
      seconds,
      error: {
        code,
        message,
        class: s.state === "expired" ? "result_unavailable" : taskFailureClass(code, message),
      },
    };
  }
  return { state: s.state, raw: s.raw, known: s.known, progress, url, seconds, error: null };
}
